//! Test harness shared by every collector's tests: fake upstreams and the
//! real exporter on port 0.

#![allow(dead_code)]

pub mod exporter;
pub mod fake_hub;
pub mod fake_rpc;
pub mod fixtures;
pub mod logs;
pub mod simnet;
