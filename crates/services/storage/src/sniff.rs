//! What a file is, by what it holds (its magic bytes, read by the `infer` crate), never by
//! its name or the type its sender claims. Only document and photo types are kept: what
//! freight paperwork is (PDFs, and photos from a phone of a signed bill of lading).

/// The types accepted, as `(MIME type, what to call it)`.
pub const ACCEPTED: &[(&str, &str)] = &[
    ("application/pdf", "a PDF document"),
    ("image/jpeg", "a JPEG photo"),
    ("image/png", "a PNG image"),
    ("image/heif", "a HEIF/HEIC photo"),
    ("image/webp", "a WebP image"),
    ("image/tiff", "a TIFF image"),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error("the file is empty")]
    Empty,
    #[error("{found}: only PDF documents and JPEG, PNG, HEIC, WebP or TIFF images are accepted")]
    NotAccepted { found: String },
    #[error("the file is {found} but was sent as {declared}")]
    Mismatch {
        found: &'static str,
        declared: String,
    },
}

/// The accepted type of `bytes`, checked against the `declared` Content-Type when one is
/// given (`application/octet-stream` declares nothing).
pub fn check(declared: Option<&str>, bytes: &[u8]) -> Result<&'static str, SniffError> {
    if bytes.is_empty() {
        return Err(SniffError::Empty);
    }
    let found = infer::get(bytes).map(|t| normalize(t.mime_type()));
    let Some(&(mime, what)) = found.and_then(|f| ACCEPTED.iter().find(|(m, _)| *m == f)) else {
        return Err(SniffError::NotAccepted {
            found: found.map_or_else(
                || "an unknown kind of file".to_owned(),
                |f| format!("a {f} file"),
            ),
        });
    };
    if let Some(declared) = declared.map(|d| normalize(d.split(';').next().unwrap_or("").trim())) {
        if !declared.is_empty() && declared != "application/octet-stream" && declared != mime {
            return Err(SniffError::Mismatch {
                found: what,
                declared: declared.to_owned(),
            });
        }
    }
    Ok(mime)
}

/// One name per type: `image/jpg` is JPEG, `image/heic` is HEIF.
fn normalize(mime: &str) -> &str {
    match mime {
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "image/heic" | "image/heic-sequence" | "image/heif-sequence" => "image/heif",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";

    #[test]
    fn a_file_is_what_its_bytes_say() {
        assert_eq!(check(None, PDF), Ok("application/pdf"));
        assert_eq!(check(Some("application/pdf"), PDF), Ok("application/pdf"));
        assert_eq!(check(Some("image/png"), PNG), Ok("image/png"));
        assert_eq!(check(Some("image/jpg"), JPEG), Ok("image/jpeg"));
        assert_eq!(
            check(Some("application/octet-stream"), JPEG),
            Ok("image/jpeg")
        );
        assert_eq!(
            check(Some("application/pdf; charset=binary"), PDF),
            Ok("application/pdf")
        );
    }

    #[test]
    fn a_file_that_lies_about_its_type_is_refused() {
        assert_eq!(
            check(Some("application/pdf"), PNG),
            Err(SniffError::Mismatch {
                found: "a PNG image",
                declared: "application/pdf".into()
            })
        );
        // A script named invoice.pdf, an executable, an empty body.
        assert!(matches!(
            check(Some("application/pdf"), b"#!/bin/sh\nrm -rf /\n"),
            Err(SniffError::NotAccepted { .. })
        ));
        assert!(matches!(
            check(None, b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF"),
            Err(SniffError::NotAccepted { .. })
        ));
        assert_eq!(check(None, b""), Err(SniffError::Empty));
    }
}
