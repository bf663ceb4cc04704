//! xpipeline.toml as a hostile file system or a careless user leaves it: read with bounds
//! (no FIFO waited on, no device read, no 5 MB file loaded), refused with exit 2 and a
//! message naming the path and what it is, quickly; diagnostics one screen line per problem.

use std::time::{Duration, Instant};

use crate::support::{Output, Project, valid_config};

/// `status` (which loads the file before any network call) against an unroutable endpoint,
/// expected to exit 2 well within the time a hang or a big read would take.
#[track_caller]
fn refused(p: &Project, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = p
        .cmd()
        .args(["--endpoint-url", "http://127.0.0.1:9"])
        .args(args)
        .run()
        .code(2);
    // A second is the aim; the bound leaves room for a loaded CI machine and `cargo metadata`.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    out
}

#[test]
fn a_symlink_to_dev_zero_is_refused_unread() {
    let p = Project::new("demo-app", "main");
    std::os::unix::fs::symlink("/dev/zero", p.file("xpipeline.toml")).unwrap();
    refused(&p, &["status"]).stderr_has(
        "xpipeline.toml is a symlink to /dev/zero, a character device; xpipeline.toml must be a regular file (a symlink to one is fine)",
    );
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let p = Project::new("demo-app", "main");
    let made = std::process::Command::new("mkfifo")
        .arg(p.file("xpipeline.toml"))
        .status()
        .unwrap();
    assert!(made.success());
    refused(&p, &["status"])
        .stderr_has("xpipeline.toml is a FIFO (named pipe); xpipeline.toml must be a regular file");
}

#[test]
fn a_directory_and_a_symlink_loop_are_refused() {
    let p = Project::new("demo-app", "main");
    std::fs::create_dir(p.file("xpipeline.toml")).unwrap();
    refused(&p, &["status"]).stderr_has("xpipeline.toml is a directory;");
    std::fs::remove_dir(p.file("xpipeline.toml")).unwrap();
    std::os::unix::fs::symlink("xpipeline.toml", p.file("xpipeline.toml")).unwrap();
    refused(&p, &["status"]).stderr_has("xpipeline.toml is a symlink that cannot be followed (");
}

#[test]
fn a_symlink_to_a_regular_file_is_fine() {
    let p = Project::new("demo-app", "main");
    p.write(
        "real.toml",
        &valid_config("111111111111", "222222222222", "eu-west-1"),
    );
    std::os::unix::fs::symlink("real.toml", p.file("xpipeline.toml")).unwrap();
    let out = p.cmd().arg("policies").run();
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_5_mb_file_is_refused_on_disk_and_in_a_commit() {
    let p = Project::new("demo-app", "main");
    let mut text = valid_config("111111111111", "222222222222", "eu-west-1");
    text.push_str(&format!("# {}\n", "x".repeat(5_000_000)));
    p.write("xpipeline.toml", &text);
    let out = refused(&p, &["status"]).stderr_has("xpipeline.toml is ");
    assert!(
        out.stderr
            .contains("bytes (4.8 MiB); xpipeline.toml may be at most 1 MiB (1048576 bytes)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.len() < 1000,
        "{} bytes of stderr",
        out.stderr.len()
    );
    p.commit_all("a big declaration");
    let out = refused(&p, &["plan", "--commit", "HEAD"]);
    assert!(
        out.stderr
            .contains("bytes (4.8 MiB), over the limit of 1048576 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn invalid_utf8_and_binary_content_are_refused_with_the_position() {
    let p = Project::new("demo-app", "main");
    let text = valid_config("111111111111", "222222222222", "eu-west-1");
    let mut bytes = text.into_bytes();
    let at = bytes.windows(5).position(|w| w == b"eu-we").unwrap();
    bytes[at] = 0xff;
    std::fs::write(p.file("xpipeline.toml"), &bytes).unwrap();
    refused(&p, &["status"]).stderr_has("xpipeline.toml:4:11: not UTF-8 text (byte 0xFF)");
    bytes[at] = 0;
    std::fs::write(p.file("xpipeline.toml"), &bytes).unwrap();
    refused(&p, &["status"])
        .stderr_has("xpipeline.toml:4:11: a NUL byte: this is a binary file, not TOML text");
}

#[test]
fn a_900_kb_value_prints_one_line_per_problem_not_a_megabyte() {
    let p = Project::new("demo-app", "main");
    let text = valid_config("111111111111", "222222222222", "eu-west-1").replacen(
        "name = \"demo-app-pipeline\"",
        &format!("name = \"{}\"", "n".repeat(900_000)),
        1,
    );
    p.write("xpipeline.toml", &text);
    let out = refused(&p, &["status"]).stderr_has("xpipeline.toml:2:8: pipeline.name must be");
    assert!(
        out.stderr.len() < 1500,
        "{} bytes:\n{}",
        out.stderr.len(),
        out.stderr
    );
    assert!(out.stderr.contains("…"), "{}", out.stderr);
    assert!(
        out.stderr.lines().all(|l| l.chars().count() <= 340),
        "{}",
        out.stderr
    );
}

#[test]
fn escape_sequences_in_keys_values_and_source_lines_reach_no_terminal() {
    let p = Project::new("demo-app", "main");
    let valid = valid_config("111111111111", "222222222222", "eu-west-1");
    let no_escape = |out: &Output| {
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "a control byte reached the terminal:\n{text:?}"
            );
        }
    };
    // A key written with TOML escapes: the parsed key holds ESC and BEL.
    p.write(
        "xpipeline.toml",
        &valid.replacen(
            "[pipeline]\n",
            "[pipeline]\n\"\\u001b]0;pwned\\u0007\\u001b[2J\" = 1\n",
            1,
        ),
    );
    let out = refused(&p, &["status"]);
    no_escape(&out);
    assert!(
        out.stderr
            .contains("unknown key `^[]0;pwned^G^[[2J` in [pipeline]"),
        "{}",
        out.stderr
    );
    // A value holding them (TOML escapes): quoted escaped.
    p.write(
        "xpipeline.toml",
        &valid.replacen("\"demo-app-pipeline\"", "\"\\u001b[2Jdemo\"", 1),
    );
    let out = refused(&p, &["status"]);
    no_escape(&out);
    assert!(
        out.stderr.contains("found \"\\u{1b}[2Jdemo\""),
        "{}",
        out.stderr
    );
    // Raw ESC bytes in the file: invalid TOML, the source line shown escaped.
    p.write(
        "xpipeline.toml",
        &valid.replacen("\"demo-app-pipeline\"", "\"\u{1b}]0;pwned\u{7}x\"", 1),
    );
    let out = refused(&p, &["status"]).stderr_has("invalid TOML");
    no_escape(&out);
    assert!(out.stderr.contains("\"^[]0;pwned^Gx\""), "{}", out.stderr);
}
