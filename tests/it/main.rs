//! Integration tests: one binary, one module per area. Every test runs the real
//! `cargo-xpipeline` binary in its own temporary cargo project and git repository.

mod support;

mod architecture;
mod build_logs;
mod cli;
mod config;
mod init;
mod plan;
mod policies;
mod push;
mod push_follow;
mod sandbox_fixture;
mod settings;
mod snapshots;
mod status;
