//! git: reading the local repository, signing the CodeCommit password, pushing and fetching
//! over our own smart-HTTP transport.

pub mod commit;
pub mod endpoint;
pub mod failure;
pub mod fetch;
pub mod pack;
pub mod pktline;
pub mod push;
pub mod sign;
pub mod wire;

use std::path::Path;

/// The branch HEAD points at, if HEAD is on a branch.
pub fn current_branch(dir: &Path) -> Option<String> {
    let repo = git2::Repository::discover(dir).ok()?;
    let head = repo.find_reference("HEAD").ok()?;
    let target = head.symbolic_target()?;
    target.strip_prefix("refs/heads/").map(str::to_owned)
}
