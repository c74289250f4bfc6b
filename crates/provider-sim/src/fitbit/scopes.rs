//! Fitbit's scopes go by three names: the codes in the token claims (`rwei ract rsle`), the words of the token
//! response (`weight activity sleep`) and the upper-case names of introspection (`{ACTIVITY=READ, …}`).

const NAMES: [(&str, &str); 9] = [
    ("ract", "activity"),
    ("rhr", "heartrate"),
    ("rloc", "location"),
    ("rnut", "nutrition"),
    ("rpro", "profile"),
    ("rset", "settings"),
    ("rsle", "sleep"),
    ("rsoc", "social"),
    ("rwei", "weight"),
];

fn name(code: &str) -> &str {
    NAMES.iter().find(|(c, _)| *c == code).map_or(code, |(_, name)| name)
}

pub(crate) fn has(scopes: &str, code: &str) -> bool {
    scopes.split_whitespace().any(|s| s == code)
}

/// `"rwei ract"` → `"weight activity"`, as the token endpoint answers.
pub(crate) fn words(scopes: &str) -> String {
    scopes.split_whitespace().map(name).collect::<Vec<_>>().join(" ")
}

/// `"rwei ract"` → `"{ACTIVITY=READ, WEIGHT=READ}"`, as introspection answers.
pub(crate) fn introspection(scopes: &str) -> String {
    let mut names: Vec<String> =
        scopes.split_whitespace().map(|code| format!("{}=READ", name(code).to_uppercase())).collect();
    names.sort();
    format!("{{{}}}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spellings() {
        assert!(has("rwei ract", "ract") && !has("rwei ract", "rsle"));
        assert_eq!(words("rwei ract rsle"), "weight activity sleep");
        assert_eq!(introspection("rwei ract rsle"), "{ACTIVITY=READ, SLEEP=READ, WEIGHT=READ}");
    }
}
