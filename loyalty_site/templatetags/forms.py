"""{{ field|bs }}: a form field's widget with Bootstrap's classes, marked invalid when it has errors."""

from django import template

register = template.Library()


@register.filter
def bs(field, size=""):
    widget = field.field.widget
    kind = getattr(widget, "input_type", None)
    base = "form-select" if kind == "select" else "form-control"
    if kind == "checkbox":
        base = "form-check-input"
    classes = [
        base,
        f"{base}-{size}" if size and base != "form-check-input" else "",
        "is-invalid" if field.errors else "",
        widget.attrs.get("class", ""),
    ]
    return field.as_widget(attrs={"class": " ".join(c for c in classes if c)})
