//! Every catalog in `locales/` is complete: each English message is there,
//! in the plural categories its locale needs, with the same placeholders;
//! nothing else is; and the locales shipped are the ones the window offers.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../i18n_catalog.rs"]
mod i18n_catalog;

use std::path::Path;

use i18n_catalog::{Entry, compile, parse, problems};

fn read(lang: &str) -> Vec<Entry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("locales/{lang}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_catalog_has_every_message_with_its_placeholders_and_plural_forms() {
    let english = read("en");
    assert!(english.len() > 80, "the English catalog is read whole");
    let mut all = Vec::new();
    for lang in widget::i18n::SUPPORTED {
        all.extend(problems(lang, &english, &read(lang)));
    }
    assert!(all.is_empty(), "incomplete catalogs:\n{}", all.join("\n"));
}

#[test]
fn the_locales_folder_holds_exactly_the_supported_locales() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .expect("locales/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut wanted: Vec<String> = widget::i18n::SUPPORTED.iter().map(|l| format!("{l}.txt")).collect();
    wanted.sort();
    assert_eq!(found, wanted);
}

#[test]
fn a_compiled_catalog_is_one_line_per_english_message_and_the_window_takes_it() {
    let english = read("en");
    for lang in widget::i18n::SUPPORTED.into_iter().filter(|l| *l != "en") {
        let compiled = compile(lang, &english, &read(lang)).expect("complete");
        assert_eq!(compiled.split('\n').count(), english.len(), "{lang}");
        assert!(
            widget::i18n::set(lang, &compiled),
            "{lang}: the window refuses its own catalog"
        );
        assert_eq!(widget::i18n::lang(), lang);
    }
}

#[test]
fn a_missing_message_a_wrong_placeholder_or_plural_form_is_named() {
    let english = parse("a = Hello {name}\nb.one = {n} file\nb.other = {n} files\n").expect("parses");
    let french =
        parse("a = Bonjour {nom}\nb.one = {n} fichier\nb.other = {n} fichiers\nc = de trop\n").expect("parses");
    let found = problems("fr", &english, &french);
    assert!(
        found.iter().any(|p| p.contains("`a`") && p.contains("nom")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("`b`") && p.contains("many")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("`c` is not an English message")),
        "{found:?}"
    );
    let missing = problems(
        "de",
        &english,
        &parse("b.one = {n} Datei\nb.other = {n} Dateien\n").expect("parses"),
    );
    assert_eq!(missing, ["de: `a` is missing"]);
    assert!(parse("a = x\na = y\n").is_err(), "a key twice");
    assert!(parse("no separator\n").is_err());
}

#[test]
fn the_cut_paste_note_names_the_limit_the_box_has() {
    // written into each catalog (no placeholder: the core is smaller without
    // formatting it), so it must follow the constant
    let limit = protocol::MAX_MESSAGE_UNITS.to_string();
    for lang in widget::i18n::SUPPORTED {
        let entries = read(lang);
        let note = entries
            .iter()
            .find(|e| e.key == "composer.pasted_cut")
            .unwrap_or_else(|| panic!("{lang}: no composer.pasted_cut"));
        assert!(
            note.forms.iter().all(|(_, text)| text.contains(&limit)),
            "{lang}: {:?}",
            note.forms
        );
    }
}
