"""`manage.py import_records` imports every row of a CSV file, or none."""

import pytest

from crm.models import Contact, Lead
from tests.support.commands import run_command

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,company,email,secondary_emails,phone,owner\n"


@pytest.fixture
def write_csv(tmp_path, owner):
    """Return a function that writes a CSV file, with OWNER replaced by the owner's username."""

    def write(text, encoding="utf-8", name="records.csv"):
        path = tmp_path / name
        path.write_bytes(text.replace("OWNER", owner.username).encode(encoding))
        return str(path)

    return write


def test_import_records_valid_file(owner, write_csv):
    path = write_csv(
        HEADER
        + "Ana,López,Acme,Ana@Example.test,ana.l@example.test;ana@home.test,+34 600 000 000,OWNER\n"
        + "Ben,Ruiz,,ben@example.test,,,OWNER\n"
    )

    result = run_command("import_records", "--kind", "lead", path)

    ana = Lead.objects.get(last_name="López")
    assert result.error is None
    assert "Imported 2 lead records." in result.stdout
    assert Lead.objects.count() == 2
    assert ana.owner == owner
    assert ana.email_normalized == "ana@example.test"
    assert ana.normalized_addresses() == ["ana.l@example.test", "ana@example.test", "ana@home.test"]


def test_import_records_contacts(owner, write_csv):
    path = write_csv("last_name,owner\nRuiz,OWNER\n")

    result = run_command("import_records", "--kind", "contact", path)

    assert result.error is None
    assert Contact.objects.get().last_name == "Ruiz"
    assert Lead.objects.count() == 0


def test_import_records_invalid_rows_import_nothing(owner, write_csv):
    path = write_csv(
        HEADER
        + "Ana,López,Acme,ana@example.test,,,OWNER\n"
        + "Sin,,Acme,sin@example.test,,,OWNER\n"
        + "Bad,Address,,not-an-address,,,OWNER\n"
        + "Bad,Secondary,,ok@example.test,fine@example.test;broken@,,OWNER\n"
        + "No,Owner,,,,,nobody\n"
    )

    result = run_command("import_records", "--kind", "lead", path)

    errors = result.stderr.splitlines()
    assert result.error is not None
    assert Lead.objects.count() == 0
    assert errors[0].startswith(f"{path}:3: ")
    assert "last_name" in errors[0]
    assert errors[1].startswith(f"{path}:4: ")
    assert "not-an-address" in errors[1]
    assert errors[2].startswith(f"{path}:5: ")
    assert "broken@" in errors[2]
    assert errors[3].startswith(f"{path}:6: ")
    assert "nobody" in errors[3]
    assert len(errors) == 4


def test_import_records_accepts_bom(owner, write_csv):
    path = write_csv("\ufeff" + HEADER + "Ana,López,,ana@example.test,,,OWNER\n")

    result = run_command("import_records", "--kind", "lead", path)

    assert result.error is None
    assert Lead.objects.get().first_name == "Ana"


def test_import_records_rejects_latin1(owner, write_csv):
    path = write_csv(HEADER + "Ana,López,,,,,OWNER\n", encoding="latin-1")

    result = run_command("import_records", "--kind", "lead", path)

    assert result.stderr.startswith(f"{path}:2: ")
    assert "UTF-8" in result.stderr
    assert Lead.objects.count() == 0


def test_import_records_rejects_unknown_column(owner, write_csv):
    path = write_csv("first_name,surname,owner\nAna,López,OWNER\n")

    result = run_command("import_records", "--kind", "lead", path)

    assert f"{path}:1: " in result.stderr
    assert "surname" in result.stderr
    assert "last_name" in result.stderr
    assert Lead.objects.count() == 0


def test_import_records_rejects_duplicate_column(owner, write_csv):
    path = write_csv("last_name,email,email,owner\nLópez,a@example.test,b@example.test,OWNER\n")

    result = run_command("import_records", "--kind", "lead", path)

    assert result.stderr.startswith(f"{path}:1: ")
    assert "email" in result.stderr
    assert Lead.objects.count() == 0


def test_import_records_rejects_wrong_field_count(owner, write_csv):
    path = write_csv("last_name,owner\nLópez,OWNER,extra\n")

    result = run_command("import_records", "--kind", "lead", path)

    assert result.stderr.startswith(f"{path}:2: ")
    assert Lead.objects.count() == 0


def test_import_records_counts_quoted_line_breaks(owner, write_csv):
    path = write_csv('last_name,company,owner\n"López","Acme\nIbérica",OWNER\nRuiz,,nobody\n')

    result = run_command("import_records", "--kind", "lead", path)

    assert result.stderr.startswith(f"{path}:4: ")


def test_import_records_semicolon_delimiter(owner, write_csv):
    path = write_csv('last_name;email;secondary_emails;owner\nLópez;ana@example.test;"b@example.test;c@example.test";OWNER\n')

    result = run_command("import_records", "--kind", "lead", path)

    assert result.error is None
    assert Lead.objects.get().normalized_addresses() == ["ana@example.test", "b@example.test", "c@example.test"]


def test_import_records_dry_run_imports_nothing(owner, write_csv):
    path = write_csv(HEADER + "Ana,López,,ana@example.test,,,OWNER\n")

    result = run_command("import_records", "--kind", "lead", path, "--dry-run")

    assert result.error is None
    assert "1 rows are valid" in result.stdout
    assert Lead.objects.count() == 0


def test_import_records_empty_file(owner, write_csv):
    path = write_csv("")

    result = run_command("import_records", "--kind", "lead", path)

    assert result.stderr.startswith(f"{path}:1: ")


def test_import_records_missing_file(db, tmp_path):
    result = run_command("import_records", "--kind", "lead", str(tmp_path / "absent.csv"))

    assert "absent.csv" in str(result.error)
