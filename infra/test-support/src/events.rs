//! The sample events in `events/<function>/`, the files the handler suites are driven by.

use std::path::PathBuf;

/// `events/<function>/` at the repository root.
pub fn dir(function: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(function)
}

/// The names (without `.json`) of `function`'s sample events, sorted.
pub fn names(function: &str) -> Vec<String> {
    let dir = dir(function);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The text of one sample event.
pub fn text(function: &str, name: &str) -> String {
    let path = dir(function).join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
