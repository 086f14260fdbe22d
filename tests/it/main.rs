#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Integration tests: one binary (the Solana dependency tree makes each extra
//! test binary slow to link), one module per capability.

mod support;

mod architecture;
mod artifacts;
mod cli;
mod coordinator;
mod docs;
mod e2e;
mod exposition;
mod hostile;
mod huggingface;
mod mcp;
mod numbers;
mod pool;
mod solana;
mod telemetry;
mod tls;
mod treasurer;
mod views;
mod web;
