//! Settings: the command line, the environment and xpipeline.toml resolved once, in a
//! documented order, into values the commands pass down. This is the only module that reads
//! the process environment (`Env::from_process`); nothing below `commands/` does.
//!
//! Order: a flag wins over its environment variable, which wins over xpipeline.toml, which
//! wins over the built-in default. The region is the exception: xpipeline.toml declares it,
//! so a `--region` or `AWS_REGION` that names another one is a usage error, not an override.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};
use crate::config::{Config, Trigger};
use crate::error::{Error, Result};

/// The environment variables the tool reads, read once at start-up. Tests build one by hand.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub aws_region: Option<String>,
    pub aws_default_region: Option<String>,
    pub aws_config_file: Option<PathBuf>,
    pub aws_shared_credentials_file: Option<PathBuf>,
    pub aws_max_attempts: Option<String>,
    pub home: Option<PathBuf>,
    pub term: Option<String>,
    pub no_color: bool,
    pub clicolor_force: bool,
    /// USER, USERNAME or LOGNAME, the first one set.
    pub user: Option<String>,
    pub find_timeout: Option<String>,
    pub watch_outage: Option<String>,
    pub git_timeout: Option<String>,
    /// The first proxy variable set (HTTPS_PROXY, https_proxy, HTTP_PROXY, http_proxy,
    /// ALL_PROXY, all_proxy): the git transport does not use it, and `-v` says so.
    pub proxy_variable: Option<&'static str>,
    /// The tracing filter of `-vv` (the `tracing-subscriber` EnvFilter syntax).
    pub rust_log: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Env {
            aws_region: var("AWS_REGION"),
            aws_default_region: var("AWS_DEFAULT_REGION"),
            aws_config_file: std::env::var_os("AWS_CONFIG_FILE").map(PathBuf::from),
            aws_shared_credentials_file: std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
                .map(PathBuf::from),
            aws_max_attempts: var("AWS_MAX_ATTEMPTS"),
            home: std::env::var_os("HOME").map(PathBuf::from),
            term: std::env::var("TERM").ok(),
            // NO_COLOR counts when set and not empty (no-color.org); CLICOLOR_FORCE when set
            // and not "0" (bixense.com/clicolors).
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            clicolor_force: std::env::var_os("CLICOLOR_FORCE")
                .is_some_and(|v| !v.is_empty() && v != "0"),
            user: ["USER", "USERNAME", "LOGNAME"].iter().find_map(|k| var(k)),
            find_timeout: var("XPIPELINE_FIND_TIMEOUT"),
            watch_outage: var("XPIPELINE_WATCH_OUTAGE"),
            git_timeout: var("XPIPELINE_GIT_TIMEOUT"),
            proxy_variable: [
                "HTTPS_PROXY",
                "https_proxy",
                "HTTP_PROXY",
                "http_proxy",
                "ALL_PROXY",
                "all_proxy",
            ]
            .into_iter()
            .find(|k| var(k).is_some()),
            rust_log: var("RUST_LOG"),
        }
    }

    /// The region the environment names: AWS_REGION, else AWS_DEFAULT_REGION.
    pub fn region(&self) -> Option<&str> {
        self.aws_region
            .as_deref()
            .or(self.aws_default_region.as_deref())
    }

    /// The shared config and credentials files: AWS_CONFIG_FILE and
    /// AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials.
    fn aws_files(&self) -> [Option<PathBuf>; 2] {
        let home = |f: &str| self.home.as_ref().map(|h| h.join(".aws").join(f));
        [
            self.aws_config_file.clone().or_else(|| home("config")),
            self.aws_shared_credentials_file
                .clone()
                .or_else(|| home("credentials")),
        ]
    }

    /// `--profile NAME` (or AWS_PROFILE) must name a profile of the shared files: otherwise
    /// the SDK falls through its whole chain to instance metadata and reports that instead.
    pub fn check_profile(&self, profile: &str) -> Result<()> {
        let mut names = Vec::new();
        let mut shown = Vec::new();
        for (file, config) in self.aws_files().into_iter().zip([true, false]) {
            let Some(file) = file else { continue };
            shown.push(crate::config::display_path(&file));
            if let Ok(text) = std::fs::read_to_string(&file) {
                names.extend(profile_names(&text, config));
            }
        }
        names.sort();
        names.dedup();
        if names.iter().any(|n| n == profile) {
            return Ok(());
        }
        let known = if names.is_empty() {
            "it has none".to_owned()
        } else {
            format!("profiles: {}", names.join(", "))
        };
        Err(Error::usage(format!(
            "--profile (or AWS_PROFILE): no profile named {profile} in {} ({known}); pick one of \
             them, or create it with `aws configure --profile {profile}` (`aws configure sso` for \
             SSO)",
            shown.join(" or ")
        )))
    }

    /// The region init writes when --region does not give one: the environment, then the
    /// AWS profile (read from the local config file only: init works offline).
    pub fn profile_region(&self, profile: Option<&str>) -> Option<String> {
        if let Some(r) = self.region() {
            return Some(r.to_owned());
        }
        let file = self
            .aws_config_file
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".aws/config")))?;
        let text = std::fs::read_to_string(file).ok()?;
        let profile = profile.unwrap_or("default");
        let wanted = |header: &str| {
            let h = header.trim();
            h == profile || h == format!("profile {profile}")
        };
        let mut in_section = false;
        for line in text.lines() {
            let line = line.trim();
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                in_section = wanted(header);
            } else if in_section {
                if let Some((k, v)) = line.split_once('=') {
                    if k.trim() == "region" && !v.trim().is_empty() {
                        return Some(v.trim().to_owned());
                    }
                }
            }
        }
        None
    }
}

/// How the tool talks to the user: what `Ui` is built from.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: u8,
    /// Spinners and bars: stderr is a terminal that can draw them (TERM set, not "dumb", the
    /// rule indicatif itself applies), and neither --color never nor NO_COLOR (without
    /// --color always) says otherwise. When false, progress is plain lines.
    pub fancy: bool,
    /// Colour on stderr (the `error:` and `warning:` labels): --color always, or --color auto
    /// on a terminal or with CLICOLOR_FORCE, unless NO_COLOR.
    pub color: bool,
    /// Standard input is a terminal: prompts are allowed.
    pub interactive: bool,
    /// Standard output is a terminal that may show colours (the rule of `fancy`, for
    /// stdout): `logs` keeps a build's SGR colours there and strips every sequence otherwise.
    pub stdout_colour: bool,
}

impl Output {
    pub fn resolve(global: &GlobalArgs, env: &Env) -> Output {
        let term = env
            .term
            .as_deref()
            .is_some_and(|t| !t.is_empty() && t != "dumb");
        let allowed = |terminal: bool| match global.color {
            ColorChoice::Always => terminal && term,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && term && !env.no_color,
        };
        let fancy = allowed(std::io::stderr().is_terminal());
        // Colour (not drawing): --color always colours even piped output; under auto,
        // CLICOLOR_FORCE colours piped output and a non-empty NO_COLOR turns colour off.
        let colour = |terminal: bool| match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !env.no_color && (env.clicolor_force || terminal),
        };
        let color = colour(std::io::stderr().is_terminal());
        Output {
            format: global.output,
            quiet: global.quiet,
            verbose: global.verbose,
            fancy,
            color,
            interactive: std::io::stdin().is_terminal(),
            stdout_colour: colour(std::io::stdout().is_terminal() && term),
        }
    }
}

/// Everything a command that works against AWS needs besides xpipeline.toml itself.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Option<String>,
    /// The region of every call: pipeline.region (a different --region or AWS_REGION stops).
    pub region: String,
    /// --endpoint-url or AWS_ENDPOINT_URL: a local emulator serves every service.
    pub endpoint_url: Option<String>,
    /// AWS_MAX_ATTEMPTS, else the SDK's standard 3.
    pub max_attempts: u32,
    /// How long to wait for the execution AWS starts (trigger = poll or events).
    pub find_timeout: Duration,
    /// How long CodePipeline may stay unreachable before a watch gives up.
    pub watch_outage: Duration,
    /// The connect and stall timeout of every git request (XPIPELINE_GIT_TIMEOUT).
    pub git_timeout: Duration,
    /// A proxy variable that is set (and that the git transport does not use).
    pub proxy_variable: Option<&'static str>,
    /// USER, USERNAME or LOGNAME (see `local_user`).
    user: Option<String>,
    /// Where the repository to push is looked for.
    pub repo_dir: PathBuf,
}

/// A git request gives up when nothing has moved for this long (or no connection came).
pub const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The watch gives up after CodePipeline has not answered for this long.
pub const DEFAULT_WATCH_OUTAGE: Duration = Duration::from_secs(300);

impl Settings {
    /// Resolve the settings of a command that reads xpipeline.toml.
    pub fn resolve(global: &GlobalArgs, env: &Env, cfg: &Config) -> Result<Settings> {
        let declared = &cfg.pipeline.region;
        let region = match (global.region.as_deref(), env.aws_region.as_deref()) {
            (Some(flag), _) if flag != declared => {
                return Err(region_mismatch("--region", flag, declared, cfg));
            }
            (None, Some(var)) if var != declared => {
                return Err(region_mismatch("AWS_REGION", var, declared, cfg));
            }
            _ => declared.clone(),
        };
        if let Some(profile) = &global.profile {
            env.check_profile(profile)?;
        }
        let find_default = if cfg.pipeline.trigger == Trigger::Poll {
            300
        } else {
            120
        };
        Ok(Settings {
            profile: global.profile.clone(),
            region,
            endpoint_url: global.endpoint_url.clone(),
            max_attempts: number(
                "AWS_MAX_ATTEMPTS",
                env.aws_max_attempts.as_deref(),
                3,
                1..=100,
            )?,
            find_timeout: Duration::from_secs(number(
                "XPIPELINE_FIND_TIMEOUT",
                env.find_timeout.as_deref(),
                find_default,
                1..=86_400,
            )?),
            watch_outage: Duration::from_secs(number(
                "XPIPELINE_WATCH_OUTAGE",
                env.watch_outage.as_deref(),
                DEFAULT_WATCH_OUTAGE.as_secs(),
                1..=86_400,
            )?),
            git_timeout: Duration::from_secs(number(
                "XPIPELINE_GIT_TIMEOUT",
                env.git_timeout.as_deref(),
                DEFAULT_GIT_TIMEOUT.as_secs(),
                1..=3_600,
            )?),
            proxy_variable: env.proxy_variable,
            user: env.user.clone(),
            repo_dir: repository_dir(global.manifest_path.as_deref()),
        })
    }
}

impl Settings {
    /// The local user, for the default STS session name: the environment's, else (on Linux,
    /// where containers and CI often set none) the passwd entry of the uid. Read only by the
    /// command that needs it, not at every start.
    pub fn local_user(&self) -> Option<String> {
        self.user.clone().or_else(passwd_user)
    }
}

fn region_mismatch(source: &str, given: &str, declared: &str, cfg: &Config) -> Error {
    Error::usage(format!(
        "{source} is {given} but pipeline.region in {} is {declared}: the pipeline, repository, \
         bucket and key all live in {declared}; drop {source} (or set it to {declared}), or change \
         pipeline.region",
        crate::config::display_path(&cfg.path)
    ))
}

/// A whole number from the environment within `range`, else `default`.
fn number<T>(
    name: &str,
    value: Option<&str>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(v) = value else {
        return Ok(default);
    };
    match v.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "{name}={v:?} is not a whole number from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

/// Where the repository to push is looked for: the directory of --manifest-path, else the
/// current directory (xpipeline.toml may be given with --config from anywhere).
pub fn repository_dir(manifest_path: Option<&Path>) -> PathBuf {
    match manifest_path.and_then(Path::parent) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The profiles a shared file declares: `[profile NAME]` and `[default]` in the config file,
/// `[NAME]` in the credentials file.
fn profile_names(text: &str, config_file: bool) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']'))
        .filter_map(|h| {
            let h = h.trim();
            match h.strip_prefix("profile ") {
                Some(name) => Some(name.trim()),
                None if !config_file || h == "default" => Some(h),
                None => None, // [sso-session x], [services x]
            }
        })
        .map(str::to_owned)
        .collect()
}

/// The local user name when no USER/USERNAME/LOGNAME is set (on Linux, where containers and
/// CI often set none of those): the passwd entry of the process's uid.
#[cfg(unix)]
fn passwd_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    user_of_uid(&std::fs::read_to_string("/etc/passwd").ok()?, uid)
}

#[cfg(not(unix))]
fn passwd_user() -> Option<String> {
    None
}

/// The name of `uid` in /etc/passwd text (`name:x:uid:gid:...`).
fn user_of_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_of_a_uid_is_read_from_passwd() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_of_uid(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_of_uid(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_of_uid(passwd, 42), None);
    }

    #[test]
    fn profiles_are_read_from_both_shared_files() {
        let config =
            "[default]\nregion = eu-west-1\n[profile tools]\n[sso-session corp]\n[services x]\n";
        assert_eq!(profile_names(config, true), ["default", "tools"]);
        assert_eq!(profile_names("[ci]\nx = 1\n", false), ["ci"]);
        let dir = std::env::temp_dir().join(format!("xp-profiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), config).unwrap();
        let env = Env {
            aws_config_file: Some(dir.join("config")),
            aws_shared_credentials_file: Some(dir.join("missing")),
            ..Env::default()
        };
        assert!(env.check_profile("tools").is_ok());
        let e = env.check_profile("nope").unwrap_err().to_string();
        assert!(
            e.contains("no profile named nope in ") && e.contains("(profiles: default, tools)"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn numbers_from_the_environment_are_checked() {
        assert_eq!(number("X", None, 5u64, 1..=10).unwrap(), 5);
        assert_eq!(number("X", Some(" 7 "), 5u64, 1..=10).unwrap(), 7);
        let e = number("XPIPELINE_FIND_TIMEOUT", Some("soon"), 5u64, 1..=10)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "XPIPELINE_FIND_TIMEOUT=\"soon\" is not a whole number from 1 to 10"
        );
        assert!(number("X", Some("0"), 5u64, 1..=10).is_err());
    }

    #[test]
    fn the_repository_is_next_to_the_manifest() {
        assert_eq!(repository_dir(None), PathBuf::from("."));
        assert_eq!(
            repository_dir(Some(Path::new("Cargo.toml"))),
            PathBuf::from(".")
        );
        assert_eq!(
            repository_dir(Some(Path::new("a/b/Cargo.toml"))),
            PathBuf::from("a/b")
        );
    }
}
