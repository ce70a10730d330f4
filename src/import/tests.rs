//! Reading and checking import files.

use super::*;

fn sheet(csv: &str) -> Sheet {
    read_sheet(csv.as_bytes()).unwrap()
}

const HEAD: &str = "scheme,contract,plot_number,postcode,reservation_date,completion_date,bedrooms,homeowner_name,homeowner_email\n";

#[test]
fn a_good_plot_row_is_typed_and_normalised() {
    let rows = parse_plots(&sheet(&format!(
        "{HEAD}Meadowbank Park,Phase 1,12,wa42tx,01/02/2025,2025-06-30,3,Jane,Jane@Example.com\n"
    )))
    .unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.line, 2);
    assert_eq!(r.row.postcode, "WA4 2TX");
    assert_eq!(r.row.bedrooms, Some(3));
    assert_eq!(
        r.row.reservation_date,
        Some(time::macros::date!(2025 - 02 - 01))
    );
    assert_eq!(r.row.homeowner_emails, vec!["jane@example.com".to_string()]);
}

#[test]
fn each_bad_row_names_its_problem_and_row_number() {
    let csv = format!(
        "{HEAD}S,C,1,XYZ,,,,,\nS,C,2,,2025-05-01,2025-04-01,,,\nS,C,1,,,,,,\nS,C,3,,,,many,,not-an-email\n,C,,,31/02/2025,,,,\n"
    );
    let rows = parse_plots(&sheet(&csv)).unwrap();
    let lines = problem_lines(&rows);
    assert!(
        lines.contains(&"Row 2: postcode 'XYZ' is not a UK postcode".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Row 3: the completion date 2025-04-01 is before")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l
            == "Row 4: plot number 1 appears more than once for S in this file (first on row 2)"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Row 5: bedrooms 'many'")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Row 5: homeowner email 'not-an-email'")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Row 5: a homeowner phone or email is given without")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "Row 6: the scheme is missing"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "Row 6: the plot number is missing"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Row 6: reservation date '31/02/2025' is not a date")),
        "{lines:?}"
    );
}

#[test]
fn headings_are_forgiving_but_unknown_or_missing_columns_stop_the_file() {
    let ok = parse_plots(&sheet("\u{feff}Scheme, Contract ,Plot Number\nS,C,1\n")).unwrap();
    assert_eq!(ok[0].row.plot_number, "1");
    let unknown =
        parse_plots(&sheet("scheme,contract,plot_number,colour\nS,C,1,red\n")).unwrap_err();
    assert!(
        unknown.contains("columns we don't know: colour"),
        "{unknown}"
    );
    let missing = parse_plots(&sheet("scheme,plot_number\nS,1\n")).unwrap_err();
    assert!(missing.contains("no contract column"), "{missing}");
}

#[test]
fn blank_rows_are_skipped_and_row_numbers_kept() {
    let rows = parse_plots(&sheet("scheme,contract,plot_number\nS,C,1\n,,\nS,C,2\n")).unwrap();
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 4]);
}

#[test]
fn too_many_rows_is_a_clear_message() {
    let mut csv = String::from("scheme,contract,plot_number\n");
    for i in 0..=MAX_ROWS {
        csv.push_str(&format!("S,C,{i}\n"));
    }
    let err = read_sheet(csv.as_bytes()).unwrap_err();
    assert!(err.contains("Import at most 20000 rows"), "{err}");
}

#[test]
fn schemes_and_contracts_are_found_by_name_and_taken_numbers_flagged() {
    let (s, c) = (Uuid::now_v7(), Uuid::now_v7());
    let schemes = vec![KnownScheme {
        id: s,
        name: "Meadowbank Park".into(),
        contracts: vec![(c, "Phase 1".into())],
    }];
    let mut rows = parse_plots(&sheet("scheme,contract,plot_number\nmeadowbank park,PHASE 1,12\nNowhere,Phase 1,1\nMeadowbank Park,Phase 9,2\n")).unwrap();
    let targets = resolve_plots(&mut rows, &schemes);
    assert_eq!(
        targets[0],
        Some(Target {
            scheme_id: s,
            contract_id: c
        })
    );
    assert_eq!(targets[1], None);
    let taken = HashSet::from([(s, "12".to_string())]);
    flag_taken(&mut rows, &targets, &taken, &schemes);
    let lines = problem_lines(&rows);
    assert_eq!(
        lines[0],
        "Row 2: plot number 12 already exists in Meadowbank Park"
    );
    assert_eq!(lines[1], "Row 3: there is no scheme called 'Nowhere'");
    assert!(
        lines[2].starts_with("Row 4: there is no contract called 'Phase 9' in Meadowbank Park")
    );
}

#[test]
fn contacts_are_typed_and_people_find_their_company() {
    let csv = "kind,name,company_name,emails,phones,trades\n\
               Subcontractor Company,Northway Ltd,,a@northway.test; b@northway.test,01925 555010,Electrical; windows and doors\n\
               subcontractor_person,Mo,northway ltd,,,\n\
               subcontractor_person,Al,Elsewhere Ltd,,,\n\
               wizard,Merlin,,bad,12,plumbing\n";
    let mut rows = parse_contacts(&sheet(csv)).unwrap();
    assert!(rows[0].problems.is_empty(), "{:?}", rows[0].problems);
    assert_eq!(rows[0].row.kind, "subcontractor_company");
    assert_eq!(rows[0].row.emails.len(), 2);
    assert_eq!(
        rows[0].row.trades,
        vec!["electrical".to_string(), "windows_doors".to_string()]
    );
    let companies = resolve_companies(&mut rows, &[]);
    assert_eq!(companies[1], Some(CompanyRef::InFile(0)));
    assert_eq!(companies[2], None);
    let lines = problem_lines(&rows);
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("Row 4: there is no subcontractor company called 'Elsewhere Ltd'")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Row 5: kind 'wizard' is not one of")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "Row 5: email 'bad' is not an email address"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "Row 5: phone '12' is not a phone number"),
        "{lines:?}"
    );
}

#[test]
fn a_non_utf8_or_empty_file_is_refused_plainly() {
    assert!(read_sheet(b"").unwrap_err().contains("empty"));
    assert!(
        read_sheet(b"scheme\xff\xfe,contract\n")
            .unwrap_err()
            .contains("CSV UTF-8")
    );
    assert!(
        read_sheet(b"PK\x03\x04 not really a zip")
            .unwrap_err()
            .contains("could not be opened")
    );
}

#[test]
fn the_samples_parse_without_problems() {
    let plots = parse_plots(&sheet(sample_csv(ImportKind::Plots))).unwrap();
    assert!(
        plots.iter().all(|r| r.problems.is_empty()),
        "{:?}",
        problem_lines(&plots)
    );
    let mut contacts = parse_contacts(&sheet(sample_csv(ImportKind::Contacts))).unwrap();
    resolve_companies(&mut contacts, &[]);
    assert!(
        contacts.iter().all(|r| r.problems.is_empty()),
        "{:?}",
        problem_lines(&contacts)
    );
}

#[test]
fn a_cell_with_a_control_character_stops_the_file_naming_row_and_column() {
    let e = read_sheet(b"scheme,plot_number\nMeadow,\"12\nA\"\nMeadow,1\x003\n").unwrap_err();
    assert!(e.contains("Row 4, column plot_number"), "{e}");
    assert!(e.contains("U+0000"), "{e}");
}

#[test]
fn uk_dates_are_read() {
    assert_eq!(
        parse_date("31/03/2025"),
        Some(time::macros::date!(2025 - 03 - 31))
    );
    assert_eq!(
        parse_date("2025-03-31"),
        Some(time::macros::date!(2025 - 03 - 31))
    );
    assert_eq!(
        parse_date("1-4-2025"),
        Some(time::macros::date!(2025 - 04 - 01))
    );
    assert_eq!(parse_date("31/02/2025"), None);
    assert_eq!(parse_date("tomorrow"), None);
}
