//! Reading an uploaded ZIP package (ODS, XLSX) with bounded decompression: entries are
//! inflated through a counting reader, so a small file that claims or expands to gigabytes is
//! refused at [`MAX_UNZIPPED_BYTES`] instead of filling memory.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::{CalcIoError, MAX_UNZIPPED_BYTES};

/// Every file entry of the package, name and inflated bytes, in archive order.
pub fn entries(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, CalcIoError> {
    let invalid =
        |e: zip::result::ZipError| CalcIoError::Invalid(format!("not a valid package: {e}"));
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(invalid)?;
    let mut budget = MAX_UNZIPPED_BYTES;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(invalid)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(invalid)?.into_owned();
        let mut data = Vec::new();
        let read = entry
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|e| CalcIoError::Invalid(format!("cannot read {name}: {e}")))?;
        if read as u64 > budget {
            return Err(too_large());
        }
        budget -= read as u64;
        out.push((name, data));
    }
    Ok(out)
}

fn too_large() -> CalcIoError {
    CalcIoError::TooLarge(format!(
        "the file expands to more than {} MiB",
        MAX_UNZIPPED_BYTES / (1024 * 1024)
    ))
}

/// The package rewritten with every entry stored, after [`entries`] bounded it: readers that
/// inflate without limits then only see what was checked.
pub fn repack(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>, CalcIoError> {
    let fail = |e: &dyn std::fmt::Display| CalcIoError::Engine(format!("repacking: {e}"));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in entries {
        zip.start_file(name.as_str(), options)
            .map_err(|e| fail(&e))?;
        zip.write_all(data).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_zip_bomb_and_reads_a_package() {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let deflate = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        zip.start_file("a.xml", deflate).unwrap();
        zip.write_all(b"<a/>").unwrap();
        let ok = zip.finish().unwrap().into_inner();
        assert_eq!(
            entries(&ok).unwrap(),
            vec![("a.xml".to_owned(), b"<a/>".to_vec())]
        );
        assert_eq!(
            entries(&repack(&entries(&ok).unwrap()).unwrap())
                .unwrap()
                .len(),
            1
        );

        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("big.xml", deflate.large_file(true)).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..=(MAX_UNZIPPED_BYTES >> 20) {
            zip.write_all(&chunk).unwrap();
        }
        let bomb = zip.finish().unwrap().into_inner();
        assert!(
            bomb.len() < 2 << 20,
            "deflate keeps it small: {}",
            bomb.len()
        );
        assert!(matches!(entries(&bomb), Err(CalcIoError::TooLarge(_))));
        assert!(matches!(
            entries(b"PK\x03\x04junk"),
            Err(CalcIoError::Invalid(_))
        ));
    }
}
