//! Integration tests: one binary (the Solana dependency tree makes each extra
//! test binary slow to link), one module per capability.

mod support;

mod cli;
mod exposition;
mod solana;
