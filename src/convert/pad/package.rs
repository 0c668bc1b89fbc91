//! The ZIP container shared by ODT and DOCX.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::ExportError;

/// A ZIP archive being written into memory. Entries keep the order they are added in, which
/// ODF needs (`mimetype` first).
pub struct Package {
    zip: ZipWriter<Cursor<Vec<u8>>>,
}

impl Package {
    /// An empty archive.
    pub fn new() -> Self {
        Self {
            zip: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    /// Adds an entry stored uncompressed, with no extra field.
    pub fn stored(&mut self, name: &str, data: &[u8]) -> Result<(), ExportError> {
        self.add(name, data, CompressionMethod::Stored)
    }

    /// Adds a deflated entry.
    pub fn deflated(&mut self, name: &str, data: &[u8]) -> Result<(), ExportError> {
        self.add(name, data, CompressionMethod::Deflated)
    }

    fn add(
        &mut self,
        name: &str,
        data: &[u8],
        method: CompressionMethod,
    ) -> Result<(), ExportError> {
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .unix_permissions(0o644);
        self.zip.start_file(name, options)?;
        self.zip.write_all(data)?;
        Ok(())
    }

    /// The archive's bytes.
    pub fn finish(self) -> Result<Vec<u8>, ExportError> {
        Ok(self.zip.finish()?.into_inner())
    }
}
