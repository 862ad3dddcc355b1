//! Reading exported JSON files as tools write them: UTF-8 with or without a BOM, and UTF-16 with
//! a BOM (PowerShell's `Out-File` default, as in part of `fixtures/corpus`).

use serde_json::Value;

/// Why a file could not be read as JSON.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes are not text in a supported encoding.
    #[error("not UTF-8 or UTF-16 text: {0}")]
    Encoding(String),
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
}

/// Decodes bytes to text, honouring a UTF-8 or UTF-16 byte-order mark.
pub fn decode_text(bytes: &[u8]) -> Result<String, DecodeError> {
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(rest),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        // UTF-16 without a BOM: JSON starts with an ASCII character, so one of the first two
        // bytes is zero.
        [a, 0, ..] if *a != 0 => utf16(bytes, u16::from_le_bytes),
        [0, b, ..] if *b != 0 => utf16(bytes, u16::from_be_bytes),
        _ => utf8(bytes),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| DecodeError::Encoding(e.to_string()))
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(DecodeError::Encoding(
            "UTF-16 text with an odd number of bytes (truncated?)".into(),
        ));
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|e| DecodeError::Encoding(e.to_string()))
}

/// Decodes bytes and parses them as JSON.
pub fn parse_json(bytes: &[u8]) -> Result<Value, DecodeError> {
    let text = decode_text(bytes)?;
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| DecodeError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le_bom(s: &str) -> Vec<u8> {
        let mut out = vec![0xFF, 0xFE];
        out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    #[test]
    fn boms_and_encodings() {
        assert_eq!(parse_json(b"{\"a\":1}").unwrap()["a"], 1);
        assert_eq!(parse_json(b"\xEF\xBB\xBF{\"a\":2}").unwrap()["a"], 2);
        assert_eq!(parse_json(&utf16le_bom("{\"a\":\"\u{e9}\"}")).unwrap()["a"], "\u{e9}");
        let bare: Vec<u8> = "{\"a\":3}".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(parse_json(&bare).unwrap()["a"], 3);
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert!(matches!(parse_json(b"{\"a\":"), Err(DecodeError::Json(_))));
        assert!(matches!(parse_json(&[0xFF, 0xFE, 0x7B]), Err(DecodeError::Encoding(_))));
        assert!(matches!(parse_json(&[0xC3, 0x28]), Err(DecodeError::Encoding(_))));
    }
}
