//! The README stays true: its settings table is the generated one, and its set-up commands are
//! the ones that exist.

mod support;

const README: &str = include_str!("../README.md");

#[test]
fn the_settings_table_is_the_generated_one() {
    let (status, table, _) = support::run(&["--generate", "settings-table"]);
    assert!(status.success());
    assert!(
        README.contains(&table),
        "README.md's settings table is stale: replace it with the output of \
         `cargo run -- --generate settings-table`"
    );
    for key in waitress_rs::settings::KEYS {
        assert!(
            README.contains(&format!("| `{}` |", key.name)),
            "{} missing",
            key.name
        );
    }
}

#[test]
fn the_set_up_commands_name_files_that_exist() {
    assert!(README.contains("cargo run --release -- --config etc/development.ini"));
    assert!(README.contains("bash tests/run.sh"));
    let root = env!("CARGO_MANIFEST_DIR");
    for path in ["etc/development.ini", "tests/run.sh", ".ci/run"] {
        assert!(
            std::path::Path::new(root).join(path).exists(),
            "{path} is missing"
        );
    }
    let ci = std::fs::read_to_string(std::path::Path::new(root).join(".ci/run")).unwrap();
    assert!(
        ci.contains("bash tests/run.sh"),
        ".ci/run must run the README's test command"
    );
}
