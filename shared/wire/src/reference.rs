//! The provider's reference documents print their examples as JSON inside
//! prose. This finds one verbatim, so tests and benchmarks use the documents'
//! own examples instead of copies. Pure text; reading the files is the
//! caller's business.

/// The first JSON object after `heading` in `text`, verbatim; `None` when the
/// heading or a balanced object after it is missing.
pub fn json_after<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let rest = &text[text.find(heading)? + heading.len()..];
    let rest = &rest[rest.find('{')?..];
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, c) in rest.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..=offset]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::json_after;

    #[test]
    fn finds_the_balanced_object_after_the_heading_with_braces_inside_strings() {
        let text = r#"Intro {"no": 1} Example: see {"a": {"b": "}{\"x"}, "c": 2} trailing }"#;
        assert_eq!(json_after(text, "Example:"), Some(r#"{"a": {"b": "}{\"x"}, "c": 2}"#));
    }

    #[test]
    fn a_missing_heading_or_an_unbalanced_object_is_none() {
        assert_eq!(json_after(r#"{"a": 1}"#, "Example"), None);
        assert_eq!(json_after(r#"Example {"a": {"b": 1}"#, "Example"), None);
    }
}
