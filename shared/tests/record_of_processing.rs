//! The record of processing covers everything the store can write: every kind of record named
//! in the code (the layout's kinds, every `*_KIND` constant) is filed under a category the
//! record lists with the retention the purge enforces, or is declared operational. A new kind
//! of record without a place in the record fails here.

use mizan_shared::domain::record_of_processing::{record, Deployment, Storage};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::store::layout::{filing_of, Filing};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The value of every string constant that names a kind of record: those of the layout's
/// `kind` module and every `*_KIND` constant of the crate.
fn record_kinds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut kinds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let in_kind_module = file.ends_with("store/layout.rs");
        let mut inside = false;
        for line in text.lines() {
            let line = line.trim();
            if in_kind_module && line.starts_with("pub mod kind {") {
                inside = true;
                continue;
            }
            if inside && line == "}" {
                inside = false;
            }
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let Some((name, value)) = rest.split_once(": &str = \"") else {
                continue;
            };
            if inside || name.ends_with("_KIND") {
                kinds.push(value.trim_end_matches("\";").to_owned());
            }
        }
    }
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn every_kind_of_record_is_covered_by_the_record_of_processing() {
    let kinds = record_kinds();
    assert!(kinds.len() >= 35, "the kinds were found: {kinds:?}");
    let tenant = Tenant::new("Atlas Tea", Timestamp::from_millis(0));
    let deployment = Deployment {
        storage: Storage::Embedded,
        model_provider: None,
    };
    let document = record(&tenant, &deployment, Timestamp::from_millis(0));
    let policy = tenant.retention();
    for kind in &kinds {
        match filing_of(kind) {
            None => panic!(
                "{kind:?} is written by the store but has no place in the record of processing"
            ),
            Some(Filing::Operational) => {}
            Some(Filing::Under(category)) => {
                let listed = document
                    .categories
                    .iter()
                    .find(|c| c.code == category.code())
                    .unwrap_or_else(|| panic!("{kind:?}: {category:?} is not in the record"));
                assert_eq!(
                    listed.retention_days,
                    policy.period(category).as_secs() / 86_400,
                    "{kind:?}"
                );
            }
        }
    }
    // And every category the record lists is one the purge knows.
    for listed in &document.categories {
        assert!(
            Category::from_code(listed.code).is_some(),
            "{}",
            listed.code
        );
    }
}
