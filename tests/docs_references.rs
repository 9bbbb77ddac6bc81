//! The repository's references into its own math document and source tree resolve (issue #13:
//! "a reader must be able to verify each certified bound from the repository alone").
//!
//! - Every `§n.m` cited in the code, tests, benches, examples, scripts, the Python package, the
//!   experiments' and results' notes, the README and docs/math.md itself names a numbered
//!   heading of docs/math.md, except a section of a cited paper or book (the text just before
//!   it names the source: Higham, Mironov–Talwar–Zhang, an arXiv number).
//! - Every `#anchor` link into docs/math.md has its `<a id="anchor">`.
//! - Every repository path that docs/math.md or the README names in backticks (`src/…`,
//!   `tests/…`, `benches/…`, …) exists. (The math document once kept the paths of files that a
//!   refactor had moved.)

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn math() -> String {
    fs::read_to_string(root().join("docs/math.md")).expect("docs/math.md is readable")
}

/// The numbers of the headings "## 10.", "### 10.9", "#### 10.9.1" of docs/math.md.
fn sections(doc: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in doc.lines() {
        let t = line.trim_start_matches('#');
        if t.len() == line.len() || !line.starts_with("##") {
            continue;
        }
        let num: String = t
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let num = num.trim_end_matches('.');
        if !num.is_empty() {
            out.insert(num.to_string());
        }
    }
    out
}

fn anchors(doc: &str) -> BTreeSet<String> {
    doc.split("<a id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

/// Text files under `dir` (recursively) with one of the endings, skipping build outputs and
/// virtual environments.
fn files(dir: &Path, endings: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() {
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            files(&p, endings, out);
        } else if endings.iter().any(|end| name.ends_with(end)) {
            out.push(p);
        }
    }
}

/// Fails listing `bad` unless it is empty.
fn none(bad: &[String], what: &str) {
    assert!(bad.is_empty(), "{what}:\n{}", bad.join("\n"));
}

fn cited_files() -> Vec<PathBuf> {
    let r = root();
    let mut out = vec![r.join("README.md"), r.join("docs/math.md")];
    let code = ["rs", "py", "sh", "md", "toml"];
    for d in [
        "src",
        "tests",
        "benches",
        "examples",
        "scripts",
        "python",
        "experiments",
    ] {
        files(&r.join(d), &code, &mut out);
    }
    files(&r.join("results"), &["md"], &mut out);
    out
}

/// The numbers after each `§` in `text`, with the 100 characters before each.
fn section_refs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices('§') {
        let after = &text[i + '§'.len_utf8()..];
        let num: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let num = num.trim_end_matches('.').to_string();
        if num.is_empty() {
            continue;
        }
        let mut start = i.saturating_sub(100);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        out.push((num, text[start..i].to_string()));
    }
    out
}

fn names_an_outside_source(before: &str) -> bool {
    ["Higham", "Mironov", "Talwar", "arXiv", "Neumaier 1974"]
        .iter()
        .any(|s| before.contains(s))
}

#[test]
fn every_section_citation_names_a_heading_of_the_math_document() {
    let secs = sections(&math());
    assert!(secs.len() > 100, "headings read: {}", secs.len());
    let mut checked = 0usize;
    let mut bad = Vec::new();
    for f in cited_files() {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        for (num, before) in section_refs(&text) {
            if names_an_outside_source(&before) {
                continue;
            }
            checked += 1;
            if !secs.contains(&num) {
                bad.push(format!(
                    "{}: §{num} (after \"…{}\")",
                    f.display(),
                    before.trim()
                ));
            }
        }
    }
    assert!(checked > 300, "citations checked: {checked}");
    none(&bad, "citations of missing sections");
}

#[test]
fn every_anchor_link_into_the_math_document_resolves() {
    let doc = math();
    let ids = anchors(&doc);
    let mut bad = Vec::new();
    let mut checked = 0usize;
    for f in cited_files() {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        let own = f.ends_with("docs/math.md");
        let mut links: Vec<&str> = text
            .split("math.md#")
            .skip(1)
            .filter_map(|s| s.split([')', ' ', '`', '"', '\n', ',']).next())
            .collect();
        if own {
            links.extend(
                text.split("](#")
                    .skip(1)
                    .filter_map(|s| s.split(')').next()),
            );
        }
        let is_id = |id: &&str| {
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        for id in links.into_iter().filter(is_id) {
            checked += 1;
            if !ids.contains(id) {
                bad.push(format!("{}: #{id}", f.display()));
            }
        }
    }
    assert!(checked > 10, "links checked: {checked}");
    none(&bad, "links to missing anchors");
}

#[test]
fn every_repository_path_named_in_the_docs_exists() {
    let r = root();
    let mut bad = Vec::new();
    let mut checked = 0usize;
    for doc in ["docs/math.md", "README.md"] {
        let text = fs::read_to_string(r.join(doc)).expect("readable");
        for span in text.split('`').skip(1).step_by(2) {
            let looks_like_path = [
                "src/",
                "tests/",
                "benches/",
                "examples/",
                "scripts/",
                "docs/",
                "python/",
            ]
            .iter()
            .any(|p| span.starts_with(p));
            if !looks_like_path || span.contains(['*', ' ', '<', '{']) {
                continue;
            }
            checked += 1;
            if !r.join(span).exists() {
                bad.push(format!("{doc}: {span}"));
            }
        }
    }
    assert!(checked > 30, "paths checked: {checked}");
    none(&bad, "paths that do not exist");
}

#[test]
fn the_crate_docs_list_every_module() {
    let lib = fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs is readable");
    let docs: String = lib
        .lines()
        .filter(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    assert!(modules.len() >= 15, "modules read: {modules:?}");
    let missing: Vec<&&str> = modules
        .iter()
        .filter(|m| !docs.contains(&format!("[`{m}`]")))
        .collect();
    assert!(
        missing.is_empty(),
        "modules the crate docs do not list: {missing:?}"
    );
}
