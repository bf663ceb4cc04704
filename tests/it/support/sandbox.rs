//! Placeholder until the sandbox fixture lands.
