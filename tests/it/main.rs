//! Integration tests: one binary, one module per area. Every test runs the real
//! `cargo-xpipeline` binary in its own temporary cargo project and git repository.

mod support;

mod approve;
mod architecture;
mod bootstrap;
mod build_logs;
mod cli;
mod config;
mod config_file;
mod deploy_bootstrap;
mod deploy_config;
mod deploy_e2e;
mod deploy_stages;
mod ecosystem;
mod gitops;
mod init;
mod permissions;
mod plan;
mod policies;
mod push;
mod push_flow;
mod push_follow;
mod redirect;
mod sandbox_fixture;
mod settings;
mod snapshots;
mod status;
mod verbose;
mod wire;
