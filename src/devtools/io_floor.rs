//! The I/O floor of a site build, for benchmarks: read every input file of a site and write the
//! same number of output files with the same sizes, in parallel like `aushang build`, and nothing
//! else. A build cannot be faster than this on the same machine.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// What the floor run read and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloorReport {
    pub files_read: usize,
    pub bytes_read: u64,
    pub files_written: usize,
    pub bytes_written: u64,
}

/// Reads every file under `inputs` (folders are walked), then writes one file per line of
/// `manifest` (`<size> <relative path>`, as `find public -type f -printf '%s %P\n'` prints it)
/// under `out`, filled with that many bytes.
pub fn run(inputs: &[PathBuf], manifest: &Path, out: &Path) -> std::io::Result<FloorReport> {
    let mut files = Vec::new();
    for input in inputs {
        for entry in walkdir::WalkDir::new(input) {
            let entry = entry?;
            if entry.file_type().is_file() {
                files.push(entry.into_path());
            }
        }
    }
    let bytes_read = files
        .par_iter()
        .map(|f| std::fs::read(f).map(|b| b.len() as u64))
        .collect::<std::io::Result<Vec<u64>>>()?
        .into_iter()
        .sum();

    let mut outputs = Vec::new();
    for line in BufReader::new(std::fs::File::open(manifest)?).lines() {
        let line = line?;
        let Some((size, rel)) = line.split_once(' ') else {
            continue;
        };
        let size: usize = size.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("manifest line {line:?}: {e}"),
            )
        })?;
        outputs.push((out.join(rel), size));
    }
    let bytes_written = outputs
        .par_iter()
        .map(|(path, size)| {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, vec![b'x'; *size]).map(|()| *size as u64)
        })
        .collect::<std::io::Result<Vec<u64>>>()?
        .into_iter()
        .sum();
    Ok(FloorReport {
        files_read: files.len(),
        bytes_read,
        files_written: outputs.len(),
        bytes_written,
    })
}
