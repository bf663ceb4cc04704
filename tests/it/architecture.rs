//! The layering ARCHITECTURE.md describes, checked on the sources: the ops layers (`src/aws/`,
//! `src/git/`) and the pure model (`src/model/`) never talk to the user, read the environment or
//! handle signals; no source file grows past 600 lines; ARCHITECTURE.md names every source
//! file and only files that exist.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without its `#[cfg(test)]` module (tests may print and read env).
fn non_test_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// What an ops or model module may not use, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("std::env", "settings.rs resolves the environment once"),
    ("crate::ui", "commands/ decide what the user reads"),
    ("Ui", "commands/ decide what the user reads"),
    ("indicatif", "progress is drawn by ui/"),
    ("stdin", "prompts belong to ui/"),
    ("stdout", "results are printed by ui/"),
    ("stderr", "progress is printed by ui/"),
    ("println!", "results are printed by ui/"),
    ("eprintln!", "progress is printed by ui/"),
    ("print!", "results are printed by ui/"),
    ("IsTerminal", "settings.rs decides what the terminal can do"),
    ("tokio::signal", "commands/ own Ctrl-C"),
    ("ctrl_c", "commands/ own Ctrl-C"),
];

#[test]
fn ops_and_model_never_talk_to_the_user_read_the_environment_or_handle_signals() {
    let mut problems = Vec::new();
    for layer in ["src/aws", "src/git", "src/model"] {
        for file in sources(&root().join(layer)) {
            let code = non_test_code(&file);
            for (n, line) in code.lines().enumerate() {
                let code_part = line.split("//").next().unwrap_or("");
                for (what, why) in FORBIDDEN {
                    let hit = if *what == "Ui" {
                        code_part
                            .split(|c: char| !c.is_alphanumeric() && c != '_')
                            .any(|w| w == "Ui")
                    } else {
                        code_part.contains(what)
                    };
                    if hit {
                        problems.push(format!(
                            "{}:{}: uses {what} ({why})",
                            file.strip_prefix(root()).unwrap().display(),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = sources(&root().join("src"))
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            (n > 600).then(|| format!("{} has {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

#[test]
fn architecture_md_names_every_source_file_and_only_existing_ones() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let files: Vec<String> = sources(&root().join("src"))
        .into_iter()
        .map(|f| {
            f.strip_prefix(root().join("src"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    let missing: Vec<&String> = files
        .iter()
        .filter(|f| {
            !doc.lines()
                .any(|l| l.split_whitespace().any(|w| w == f.as_str()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name: {missing:?}"
    );
    // Every `*.rs` path the tree in ARCHITECTURE.md names exists.
    let named: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.ends_with(".rs"))
        .collect();
    let stale: Vec<&&str> = named
        .iter()
        .filter(|w| !files.iter().any(|f| f == *w))
        .collect();
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md names missing files: {stale:?}"
    );
}
