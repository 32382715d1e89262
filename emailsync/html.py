"""Sanitising the HTML body of a received message before it is shown.

The HTML comes from strangers, so it passes through nh3 (the ammonia
sanitiser) with an allow-list: formatting tags and attributes survive;
scripts, event handlers, forms, frames, embedded objects and <style>
elements go. Links keep only http, https and mailto targets and open in a
new tab without a referrer. Remote images are tracking beacons, so their
`src` is removed unless the reader asked to load them.

`rewrite_links` then points the http(s) links at the click-tracking
redirect and unlinks every other target.

The message page also shows the result inside a sandboxed iframe under a
strict Content-Security-Policy. That is a second wall, not a reason to
loosen this one.
"""

import re
from dataclasses import dataclass
from urllib.parse import unquote

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption", "center",
    "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "font",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
    "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var", "wbr",
}

# Tags removed together with their content, because their text is not meant
# to be read (scripts, style sheets, the document title) or is form input.
REMOVED_WITH_CONTENT_TAGS = {"script", "style", "title", "head", "noscript", "template", "textarea", "select"}

ALLOWED_ATTRIBUTES = {
    "*": {"align", "dir", "lang", "title", "style", "valign"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border", "hspace", "vspace"},
    "table": {"border", "cellpadding", "cellspacing", "width", "height", "bgcolor", "summary"},
    "td": {"colspan", "rowspan", "width", "height", "bgcolor", "nowrap"},
    "th": {"colspan", "rowspan", "width", "height", "bgcolor", "nowrap", "scope"},
    "tr": {"bgcolor", "height"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "bdo": {"dir"},
}

URL_SCHEMES = {"http", "https", "mailto"}
REMOTE_IMAGE_SCHEMES = ("http://", "https://")

# CSS properties kept in style attributes. None of them takes a URL, so a
# style cannot load a remote resource (background-image, list-style-image,
# cursor and content are left out for that reason).
ALLOWED_STYLE_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-color",
    "border-left", "border-radius", "border-right", "border-spacing", "border-style",
    "border-top", "border-width", "color", "direction", "display", "float", "font",
    "font-family", "font-size", "font-style", "font-variant", "font-weight", "height",
    "letter-spacing", "line-height", "list-style-type", "margin", "margin-bottom",
    "margin-left", "margin-right", "margin-top", "max-height", "max-width", "min-height",
    "min-width", "padding", "padding-bottom", "padding-left", "padding-right", "padding-top",
    "text-align", "text-decoration", "text-indent", "text-transform", "vertical-align",
    "white-space", "width", "word-break", "word-spacing", "word-wrap",
}

# The nh3 options of both passes: the sanitiser's and the link rewriter's, so
# the second pass keeps sanitised HTML as it is.
CLEAN_OPTIONS = {
    "tags": ALLOWED_TAGS,
    "clean_content_tags": REMOVED_WITH_CONTENT_TAGS,
    "attributes": ALLOWED_ATTRIBUTES,
    "url_schemes": URL_SCHEMES,
    # A relative URL would resolve against the CRM's own address.
    "url_relative": "deny",
    "link_rel": "noopener noreferrer",
    "set_tag_attribute_values": {"a": {"target": "_blank"}},
    "filter_style_properties": ALLOWED_STYLE_PROPERTIES,
}

# Old Internet Explorer ran JavaScript from CSS expression() and behavior
# values; url() and escapes could smuggle either past the property list.
UNSAFE_STYLE_PATTERN = re.compile(r"expression|javascript|behavior|url\s*\(|\\", re.IGNORECASE)


def drop_unsafe_declarations(style):
    """Remove the declarations of a style attribute that UNSAFE_STYLE_PATTERN matches.

    nh3 runs this before its property filter, which then parses what is left
    and keeps only ALLOWED_STYLE_PROPERTIES.
    """
    declarations = style.split(";")
    return ";".join(item for item in declarations if not UNSAFE_STYLE_PATTERN.search(item))


@dataclass(frozen=True)
class SanitizedHtml:
    html: str
    # True when at least one remote image lost its src.
    has_blocked_images: bool


def sanitize_email_html(html, allow_remote_images=False, inline_images=None):
    """Return the safe form of an email's HTML body as a SanitizedHtml.

    `inline_images` maps a Content-ID to the absolute URL that serves that
    part of the message. A `cid:` image found there gets that URL as its
    src, and any other `cid:` image loses its src.
    """
    blocked_images = []

    def filter_attribute(tag, attribute, value):
        if tag == "img" and attribute == "src":
            inline_source = resolve_inline_image(value, inline_images)
            if inline_source:
                return inline_source
            if allow_remote_images and value.lower().startswith(REMOTE_IMAGE_SCHEMES):
                return value
            blocked_images.append(value)
            return None
        if attribute == "style":
            return drop_unsafe_declarations(value)
        if value[:4].lower() == "cid:":
            return None
        return value

    cleaned = nh3.clean(
        html or "",
        attribute_filter=filter_attribute,
        # cid: passes the scheme check only to reach filter_attribute,
        # which keeps it nowhere but in a resolved <img src>.
        **{**CLEAN_OPTIONS, "url_schemes": URL_SCHEMES | {"cid"}},
    )
    has_blocked_images = any(src.lower().startswith(REMOTE_IMAGE_SCHEMES) for src in blocked_images)
    return SanitizedHtml(html=cleaned, has_blocked_images=has_blocked_images)


def resolve_inline_image(src, inline_images):
    """Return the URL serving a `cid:` image source from `inline_images`, or None.

    RFC 2392: a cid URL is the Content-ID without angle brackets, with
    URL-unsafe characters %-encoded.
    """
    if not inline_images or not src[:4].lower() == "cid:":
        return None
    content_id = unquote(src[4:]).strip().strip("<>")
    return inline_images.get(content_id)


LINK_SCHEMES = {"http", "https"}


def rewrite_links(html, build_link):
    """Return sanitised HTML with each http(s) link target replaced by `build_link(target)`.

    `build_link` returns an absolute http(s) URL, such as the click-tracking
    redirect. Links with any other target (mailto:, relative, javascript:)
    lose their href and so are no longer links. `html` must come from
    sanitize_email_html: this runs nh3 again with the same CLEAN_OPTIONS,
    so nothing else changes.
    """

    def filter_attribute(tag, attribute, value):
        if tag == "a" and attribute == "href":
            scheme, _colon, _rest = value.partition(":")
            return build_link(value) if scheme.strip().lower() in LINK_SCHEMES else None
        return value

    return nh3.clean(html or "", attribute_filter=filter_attribute, **CLEAN_OPTIONS)
