//! The Hub token: read from `--hf.token-file` or `HF_TOKEN`, held to one token of
//! visible ASCII, never printed.

use std::fmt;
use std::path::Path;

/// A HuggingFace access token. It never prints: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// `HF_TOKEN` held to what a token file is: one token of visible ASCII (surrounding
/// whitespace dropped; empty means none). The message never shows the value.
pub(super) fn check_token_text(text: &str) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() || text.chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err("HF_TOKEN: the token holds spaces, line breaks, control or non-ASCII characters".into())
    }
}

impl Token {
    /// A token from text (surrounding whitespace dropped); `None` when empty.
    pub fn new(text: &str) -> Option<Token> {
        let text = text.trim();
        (!text.is_empty()).then(|| Token(text.to_owned()))
    }

    /// Read a token file: one line, at most 4 KiB read
    /// ([`crate::flags::read_secret_line`]). The error names the file, never its
    /// content.
    pub fn from_file(path: &Path) -> Result<Token, String> {
        let text = crate::flags::read_secret_line(path, "token file")?;
        Token::new(&text).ok_or_else(|| format!("token file {} is empty", path.display()))
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_token_from_the_environment_is_checked() {
        assert!(check_token_text("hf_abc").is_ok());
        assert!(check_token_text("  hf_abc\n").is_ok());
        assert!(check_token_text("").is_ok());
        for bad in ["hf_a\nhf_b", "hf a", "hf_\u{1b}x", "hf_é"] {
            let err = check_token_text(bad).unwrap_err();
            assert!(!err.contains("hf_"), "{err}");
        }
    }
}
