from django import template

register = template.Library()


@register.filter
def fields_with_errors(form):
    """Return [{"field", "group"}] for the fields of form that carry errors.

    "group" names the fieldset of fields whose labels repeat (both servers
    have a "Port"), from the form's optional `field_groups` {prefix: name}.
    """
    groups = getattr(form, "field_groups", {})
    result = []
    for field in form:
        if field.errors:
            group = next((name for prefix, name in groups.items() if field.name.startswith(prefix)), "")
            result.append({"field": field, "group": group})
    return result
