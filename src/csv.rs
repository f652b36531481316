//! CSV output, quoted one way for every table the project writes (RFC 4180: a field holding a
//! comma, a quote or a newline is quoted, its quotes doubled), and the reader of such tables.

/// `s` as one CSV field.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The records of RFC 4180 `text` (fields quoted as [`field`] quotes them; `\r\n` or `\n`
/// ends a record; a last empty line is no record). Err: an unterminated quote (its line).
pub fn records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    let (mut rec, mut cur) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut quote_line) = (false, 1usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                line += (c == '\n') as usize;
                cur.push(c);
            }
            (false, '"') if cur.is_empty() => {
                quoted = true;
                quote_line = line;
            }
            (false, ',') => rec.push(std::mem::take(&mut cur)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                line += 1;
                rec.push(std::mem::take(&mut cur));
                out.push(std::mem::take(&mut rec));
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("line {quote_line}: unterminated quoted field"));
    }
    if !cur.is_empty() || !rec.is_empty() {
        rec.push(cur);
        out.push(rec);
    }
    Ok(out)
}
