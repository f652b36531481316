//! CSV output, quoted one way for every table the project writes (RFC 4180: a field holding a
//! comma, a quote or a newline is quoted, its quotes doubled).

/// `s` as one CSV field.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_with_separators_are_quoted() {
        assert_eq!(super::field("crackle"), "crackle");
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::field("two\nlines"), "\"two\nlines\"");
    }
}
