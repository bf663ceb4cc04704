//! The build side bootstrap and init set up: the CodeBuild project bootstrap creates (a
//! curated Linux image, the artifacts and cache encrypted with the key, a cache in the artifact
//! bucket for the cargo registry and the target dir) and the buildspec.yml init writes
//! (rustup when the image has no Rust, `cargo build --locked`, `cargo test --locked`, and
//! `aws cloudformation package` of a `template.yaml` for the deploy stages). Pure.

use crate::config::Config;

/// AWS's curated Amazon Linux 2023 image: no Rust runtime (the buildspec installs rustup).
pub const IMAGE: &str = "aws/codebuild/amazonlinux-x86_64-standard:5.0";
/// 4 vCPU, 7 GB: a cargo build of a real workspace needs more than the small type's 3 GB.
pub const COMPUTE_TYPE: &str = "BUILD_GENERAL1_MEDIUM";
pub const ENVIRONMENT_TYPE: &str = "LINUX_CONTAINER";

/// What the CodeBuild project is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub name: String,
    pub description: String,
    pub service_role: String,
    /// The artifact key: the project's artifacts and cache are encrypted with it.
    pub encryption_key: String,
    pub image: &'static str,
    pub compute_type: &'static str,
    pub environment_type: &'static str,
    /// `bucket/prefix` of the S3 cache (in the artifact bucket, which the build role may use).
    pub cache_location: String,
}

/// The project bootstrap creates for `cfg`, running as `role`, encrypted with `key`.
pub fn project(cfg: &Config, role: &str, key: &str) -> Project {
    Project {
        name: cfg.build.project.clone(),
        description: format!(
            "Builds {} for pipeline {} (created by cargo-xpipeline)",
            cfg.source.repository, cfg.pipeline.name
        ),
        service_role: role.to_owned(),
        encryption_key: key.to_owned(),
        image: IMAGE,
        compute_type: COMPUTE_TYPE,
        environment_type: ENVIRONMENT_TYPE,
        cache_location: format!("{}/cache/{}", cfg.artifacts.bucket, cfg.build.project),
    }
}

/// The file name CodeBuild reads at the root of the source.
pub const BUILDSPEC_FILE: &str = "buildspec.yml";

/// The CloudFormation template at the root of the repository that the buildspec packages.
pub const TEMPLATE_FILE: &str = "template.yaml";
/// What packaging it writes into the build artifact: the template a deploy stage deploys.
pub const PACKAGED_FILE: &str = "packaged.yaml";

/// Where `aws cloudformation package` uploads a template's local artifacts (Lambda code, nested
/// templates): the artifact bucket under `<pipeline>/packages`, encrypted with the artifact key
/// (which the deploy stages' roles may read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub bucket: String,
    /// `<pipeline>/packages`: the one prefix the build role may write packages to.
    pub prefix: String,
    /// The key's ARN, or, before bootstrap has created it, the ARN of the alias bootstrap gives
    /// it (S3 resolves an alias in the caller's account, which is the key's).
    pub kms_key: String,
}

/// The prefix of `pipeline`'s packaged artifacts in the artifact bucket.
pub fn packages_prefix(pipeline: &str) -> String {
    format!("{pipeline}/packages")
}

/// The buildspec.yml init writes when the workspace has none: `BUILDSPEC`, and with `package`
/// (the workspace has a `template.yaml`) its packaging into `packaged.yaml`, an artifact.
pub fn buildspec(package: Option<&Package>) -> String {
    let Some(p) = package else {
        return BUILDSPEC.to_owned();
    };
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let vars = format!(
        "    CARGO_INCREMENTAL: \"0\"\n    \
         # Where `aws cloudformation package` uploads the local artifacts {TEMPLATE_FILE} names\n    \
         # (Lambda code): the artifact bucket, under the prefix the build role may write, with the key.\n    \
         PACKAGE_BUCKET: {}\n    PACKAGE_PREFIX: {}\n    PACKAGE_KMS_KEY: {}\n",
        quote(&p.bucket),
        quote(&p.prefix),
        quote(&p.kms_key)
    );
    let package = format!(
        "      - cargo test --locked\n      \
         # {TEMPLATE_FILE} packaged: its local code uploaded, {PACKAGED_FILE} the template the deploy stages deploy.\n      \
         - aws cloudformation package --template-file {TEMPLATE_FILE} --s3-bucket \"$PACKAGE_BUCKET\" --s3-prefix \"$PACKAGE_PREFIX\" --kms-key-id \"$PACKAGE_KMS_KEY\" --output-template-file {PACKAGED_FILE}\n"
    );
    BUILDSPEC
        .replacen("    CARGO_INCREMENTAL: \"0\"\n", &vars, 1)
        .replacen("      - cargo test --locked\n", &package, 1)
        .replacen(
            "  files:\n    - target/debug/*\n",
            &format!("  files:\n    - target/debug/*\n    - {PACKAGED_FILE}\n"),
            1,
        )
}

/// The buildspec.yml init writes when the workspace has none (and no `template.yaml`).
pub const BUILDSPEC: &str = r#"# buildspec.yml: how CodeBuild builds this workspace (written by `cargo xpipeline init`;
# yours to edit). The project `cargo xpipeline bootstrap` creates runs AWS's curated Amazon
# Linux image, which has no Rust: the install phase installs rustup once, and the cache (in
# the artifact bucket) keeps the toolchain, the cargo registry and target/ between builds.
version: 0.2

env:
  variables:
    CARGO_TERM_COLOR: "never"
    CARGO_INCREMENTAL: "0"

phases:
  install:
    commands:
      - |
        if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
          curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        fi
      - export PATH="$HOME/.cargo/bin:$PATH"
      - rustc --version && cargo --version
  build:
    commands:
      - export PATH="$HOME/.cargo/bin:$PATH"
      - cargo build --locked
      - cargo test --locked

artifacts:
  files:
    - target/debug/*

cache:
  paths:
    - /root/.rustup/**/*
    - /root/.cargo/bin/**/*
    - /root/.cargo/registry/**/*
    - /root/.cargo/git/**/*
    - target/**/*
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buildspec_installs_rust_when_missing_builds_locked_and_caches() {
        let yaml = BUILDSPEC;
        assert!(yaml.contains("version: 0.2"));
        assert!(yaml.contains("command -v cargo") && yaml.contains("sh.rustup.rs"));
        assert!(yaml.contains("- cargo build --locked") && yaml.contains("- cargo test --locked"));
        for path in ["/root/.cargo/registry/**/*", "target/**/*"] {
            assert!(yaml.contains(&format!("    - {path}\n")), "{path}");
        }
        // YAML: no tabs, and every phase command is a list item.
        assert!(!yaml.contains('\t'));
    }

    fn package() -> Package {
        Package {
            bucket: "hello-artifacts".into(),
            prefix: packages_prefix("hello-pipeline"),
            kms_key: "arn:aws:kms:eu-west-1:111111111111:key/1234abcd".into(),
        }
    }

    #[test]
    fn without_a_template_the_buildspec_packages_nothing() {
        assert_eq!(buildspec(None), BUILDSPEC);
        assert!(!BUILDSPEC.contains("cloudformation package"));
    }

    #[test]
    fn a_template_is_packaged_into_the_artifact_bucket_with_the_key_and_shipped() {
        let yaml = buildspec(Some(&package()));
        // (tests/it/init.rs parses the file init writes as YAML.)
        for line in [
            "\n    CARGO_INCREMENTAL: \"0\"\n",
            "\n    PACKAGE_BUCKET: \"hello-artifacts\"\n",
            "\n    PACKAGE_PREFIX: \"hello-pipeline/packages\"\n",
            "\n    PACKAGE_KMS_KEY: \"arn:aws:kms:eu-west-1:111111111111:key/1234abcd\"\n",
            "\n      - cargo test --locked\n      # template.yaml packaged",
            "\n      - aws cloudformation package --template-file template.yaml --s3-bucket \"$PACKAGE_BUCKET\" \
             --s3-prefix \"$PACKAGE_PREFIX\" --kms-key-id \"$PACKAGE_KMS_KEY\" \
             --output-template-file packaged.yaml\n\nartifacts:",
            "\n  files:\n    - target/debug/*\n    - packaged.yaml\n\ncache:",
        ] {
            assert!(yaml.contains(line), "{line:?} in\n{yaml}");
        }
        assert!(!yaml.contains('\t'));
    }

    #[test]
    fn the_project_caches_in_the_artifact_bucket_with_the_key() {
        let cfg = crate::config::parse(
            include_str!("../../xpipeline.toml.example"),
            "x",
            "x".into(),
        )
        .unwrap();
        let p = project(&cfg, "arn:aws:iam::111111111111:role/b", "arn:k");
        assert_eq!(
            p.cache_location,
            "hello-pipeline-artifacts/cache/hello-build"
        );
        assert_eq!(p.encryption_key, "arn:k");
        assert_eq!(p.image, IMAGE);
    }
}
