from emailsync.html import sanitize_email_html


def clean(html, **options):
    return sanitize_email_html(html, **options).html


def test_sanitizer_removes_script_and_its_content():
    assert clean("<p>Hola</p><script>alert(1)</script>") == "<p>Hola</p>"


def test_sanitizer_removes_event_handlers():
    result = clean('<p onclick="alert(1)" onmouseover="alert(2)">Hola</p><body onload="x()">')

    assert "onclick" not in result
    assert "onmouseover" not in result
    assert "onload" not in result


def test_sanitizer_removes_javascript_links():
    result = clean('<a href="javascript:alert(1)">Pulse</a><a href="JaVaScRiPt:alert(2)">Aquí</a>')

    assert "javascript" not in result.lower()
    assert "Pulse" in result


def test_sanitizer_keeps_safe_links_opening_in_new_tab():
    result = clean('<a href="https://acme.example/oferta">Oferta</a>')

    assert result == (
        '<a href="https://acme.example/oferta" target="_blank" rel="noopener noreferrer">Oferta</a>'
    )


def test_sanitizer_keeps_mailto_links():
    assert 'href="mailto:lucia@acme.example"' in clean('<a href="mailto:lucia@acme.example">Escribir</a>')


def test_sanitizer_drops_relative_links():
    assert "href" not in clean('<a href="/leads/1/delete/">Borrar</a>')


def test_sanitizer_removes_forms_and_frames():
    result = clean(
        '<form action="https://phish.example"><input name="password"><button>Enviar</button></form>'
        '<iframe src="https://phish.example"></iframe><object data="x.swf"></object><embed src="y">'
    )

    for tag in ("<form", "<input", "<button", "<iframe", "<object", "<embed"):
        assert tag not in result


def test_sanitizer_removes_style_elements():
    assert clean("<style>body { background: url(https://t.example/x) }</style><p>Hola</p>") == "<p>Hola</p>"


def test_sanitizer_removes_dangerous_style_declarations():
    result = clean(
        '<p style="color: red; background-image: url(https://t.example/x); width: expression(alert(1))">Hola</p>'
    )

    assert result == '<p style="color:red">Hola</p>'


def test_sanitizer_removes_escaped_style_declarations():
    assert "url" not in clean('<p style="background: \\75 rl(https://t.example/x)">Hola</p>')


def test_sanitizer_blocks_remote_images_by_default():
    result = sanitize_email_html('<img src="https://tracker.example/open.gif" alt="logo">')

    assert result.html == '<img alt="logo">'
    assert result.has_blocked_images is True


def test_sanitizer_loads_remote_images_when_allowed():
    result = sanitize_email_html('<img src="https://acme.example/logo.png">', allow_remote_images=True)

    assert result.html == '<img src="https://acme.example/logo.png">'


def test_sanitizer_drops_javascript_image_even_when_allowed():
    result = sanitize_email_html('<img src="javascript:alert(1)">', allow_remote_images=True)

    assert result.html == "<img>"


def test_sanitizer_blanks_cid_images():
    result = sanitize_email_html('<img src="cid:logo@acme">')

    assert result.html == "<img>"
    assert result.has_blocked_images is False


def test_sanitizer_keeps_table_layout():
    source = '<table width="600" cellpadding="4"><tr><td bgcolor="#eeeeee" colspan="2">Total</td></tr></table>'

    assert clean(source) == (
        '<table width="600" cellpadding="4"><tbody><tr><td bgcolor="#eeeeee" colspan="2">Total</td></tr></tbody></table>'
    )


def test_sanitizer_accepts_empty_body():
    assert clean("") == ""
