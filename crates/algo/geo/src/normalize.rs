//! Name normalisation shared by the gazetteer index and queries, and the state/province
//! table.

/// US states (+ DC) and Canadian provinces/territories: postal code and full name.
pub const REGIONS: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

/// Extra spellings of regions seen on load boards.
const REGION_ALIASES: &[(&str, &str)] = &[
    ("washington dc", "DC"),
    ("dc", "DC"),
    ("newfoundland", "NL"),
    ("labrador", "NL"),
    ("pei", "PE"),
    ("yukon territory", "YT"),
    ("que", "QC"),
    ("ont", "ON"),
];

/// The postal code of a region given as a code ("tx"), a full name ("Texas", "new york")
/// or an alias; `None` when unrecognised.
pub fn region_code(text: &str) -> Option<&'static str> {
    // Codes are matched before normalisation: "MT" is Montana, not "mount".
    let raw = text.trim().trim_end_matches('.');
    if raw.len() == 2 {
        let up = raw.to_ascii_uppercase();
        if let Some((code, _)) = REGIONS.iter().find(|(c, _)| *c == up) {
            return Some(code);
        }
    }
    let norm = normalize(text);
    if norm.is_empty() {
        return None;
    }
    if let Some((code, _)) = REGIONS.iter().find(|(_, name)| normalize(name) == norm) {
        return Some(code);
    }
    REGION_ALIASES
        .iter()
        .find(|(alias, _)| *alias == norm)
        .map(|(_, code)| *code)
}

/// Lower-cases, folds common Latin accents, turns punctuation into word breaks (dropping
/// apostrophes), and expands the abbreviations used in place names: "St."/"St" →
/// "saint", "Ste" → "sainte", "Ft." → "fort", "Mt." → "mount", "Pt." → "point".
///
/// `normalize("St. Louis") == normalize("saint  louis") == "saint louis"`.
pub fn normalize(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        match fold_char(c) {
            Some(Fold::Keep(c)) => folded.push(c),
            Some(Fold::Break) => folded.push(' '),
            None => {}
        }
    }
    let mut out = String::with_capacity(folded.len());
    for token in folded.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(match token {
            "st" | "saint" => "saint",
            "ste" | "sainte" => "sainte",
            "ft" | "fort" => "fort",
            "mt" | "mount" => "mount",
            "pt" | "point" => "point",
            other => other,
        });
    }
    out
}

enum Fold {
    Keep(char),
    Break,
}

fn fold_char(c: char) -> Option<Fold> {
    let base = match c {
        'a'..='z' | '0'..='9' => c,
        'A'..='Z' => c.to_ascii_lowercase(),
        '\'' | '’' | '`' => return None,
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        c if c.is_alphanumeric() => c.to_lowercase().next().unwrap_or(c),
        _ => return Some(Fold::Break),
    };
    Some(Fold::Keep(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_case_and_spacing_normalise_alike() {
        assert_eq!(normalize("St. Louis"), "saint louis");
        assert_eq!(normalize("  SAINT   louis "), "saint louis");
        assert_eq!(normalize("Ft. Worth"), "fort worth");
        assert_eq!(normalize("Mt Pleasant"), "mount pleasant");
        assert_eq!(normalize("Montréal"), "montreal");
        assert_eq!(normalize("Coeur d'Alene"), "coeur dalene");
        assert_eq!(normalize("Winston-Salem"), "winston salem");
    }

    #[test]
    fn regions_resolve_from_codes_names_and_aliases() {
        assert_eq!(region_code("tx"), Some("TX"));
        assert_eq!(region_code("Texas"), Some("TX"));
        assert_eq!(region_code("new  york"), Some("NY"));
        assert_eq!(region_code("Québec"), Some("QC"));
        assert_eq!(region_code("Washington DC"), Some("DC"));
        assert_eq!(region_code("MT"), Some("MT"));
        assert_eq!(region_code("XX"), None);
        assert_eq!(region_code(""), None);
    }
}
