//! Tidy checks that are cheaper as a test than as a review comment.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// Every Rust source file opens with a `//!` line saying what it is for.
pub fn check(root: &Path) -> Result<()> {
    let mut missing = Vec::new();
    for file in rust_files(root) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.starts_with("//!") {
            missing.push(file.strip_prefix(root).unwrap_or(&file).display().to_string());
        }
    }
    if !missing.is_empty() {
        bail!("these files do not open with a //! line:\n  {}", missing.join("\n  "));
    }
    Ok(())
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" && name != "dist" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_without_a_module_doc() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/good.rs"), "//! Good.\nfn f() {}\n").unwrap();
        assert!(check(&dir).is_ok());
        std::fs::write(dir.join("src/bad.rs"), "fn f() {}\n").unwrap();
        let err = check(&dir).unwrap_err().to_string();
        assert!(err.contains("src/bad.rs") && !err.contains("good.rs"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
