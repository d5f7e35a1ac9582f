//! The committed man page is what `--generate man` prints, and it documents every key.

mod support;

use waitress_rs::settings::Form;
use waitress_rs::settings::KEYS;

const REGENERATE: &str = "cargo run -- --generate man > man/waitress-rs.1";

fn generated() -> String {
    let (status, stdout, stderr) = support::run(&["--generate", "man"]);
    assert!(status.success(), "--generate man failed: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    stdout
}

fn committed() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/man/waitress-rs.1");
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}; regenerate it with `{REGENERATE}`"))
}

/// How roff writes `text` in the page: hyphens are escaped.
fn roff(text: &str) -> String {
    text.replace('-', "\\-")
}

#[test]
fn committed_man_page_is_fresh() {
    let generated = generated();
    let committed = committed();
    if generated != committed {
        let first = generated
            .lines()
            .zip(committed.lines())
            .position(|(g, c)| g != c)
            .map_or_else(
                || "one is a prefix of the other".to_owned(),
                |n| format!("first difference at line {}", n + 1),
            );
        panic!(
            "man/waitress-rs.1 is out of date ({first}); regenerate it with `{REGENERATE}` and \
             commit the result"
        );
    }
}

#[test]
fn man_page_has_the_sections() {
    let page = generated();
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH CONFIGURATION",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH EXAMPLES",
    ] {
        let plain = section.replace('"', "");
        assert!(
            page.lines().any(|l| l == section || l == plain),
            "the man page has no {plain} section"
        );
    }
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
}

#[test]
fn man_page_documents_every_key_and_flag() {
    let page = generated();
    let configuration = page
        .split(".SH CONFIGURATION")
        .nth(1)
        .expect("CONFIGURATION section");
    for key in KEYS {
        let entry = format!("\\fB{}\\fR = ", roff(key.name));
        assert!(
            configuration.contains(&entry),
            "CONFIGURATION does not list {}",
            key.name
        );
        let flag = format!("\\fB{}\\fR", roff(&key.flag()));
        assert!(
            page.contains(&flag),
            "the page does not show {}",
            key.flag()
        );
        if key.form == Form::Switch {
            let negated = format!(
                "\\fB{}\\fR",
                roff(&format!("--no-{}", key.name.replace('_', "-")))
            );
            assert!(
                configuration.contains(&negated),
                "the page does not show the --no- form of {}",
                key.name
            );
        }
        // The default is shown as written in an INI file.
        if !key.default.is_empty() {
            let with_default = format!("\\fB{}\\fR = {}\n", roff(key.name), roff(key.default));
            assert!(
                configuration.contains(&with_default),
                "CONFIGURATION does not show {} = {}",
                key.name,
                key.default
            );
        }
    }
}

#[test]
fn man_page_lists_the_exit_statuses() {
    let page = generated();
    let exit = page
        .split(".SH EXIT STATUS")
        .nth(1)
        .expect("EXIT STATUS section");
    for code in [0, 1, 2, 69, 77, 78] {
        assert!(
            exit.contains(&format!("\\fB{code}\\fR")),
            "EXIT STATUS does not list {code}"
        );
    }
}
