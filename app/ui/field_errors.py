"""Form errors at the field they are about: said under it, tied to it for screen readers
(aria-invalid, aria-describedby), and gone as soon as the field is changed."""

import js

from app.ui.dom import by_id, find, on


class FieldError(ValueError):
    """What is wrong with one field (`field`: its element id)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _note(field_id):
    note_id = f"{field_id}-error"
    note = find(note_id)
    if note is None:
        note = js.document.createElement("small")
        note.id, note.className = note_id, "field-error"
        note.setAttribute("data-testid", "field-error")
        note.setAttribute("role", "alert")
        by_id(field_id).insertAdjacentElement("afterend", note)
    return note


def show_error(error: FieldError) -> None:
    field = by_id(error.field)
    note = _note(error.field)
    note.textContent = str(error)
    note.hidden = False
    if not field.hasAttribute("data-help"):  # what described the field before: said after the error
        field.setAttribute("data-help", field.getAttribute("aria-describedby") or "")
    field.setAttribute("aria-invalid", "true")
    field.setAttribute("aria-describedby", f"{note.id} {field.getAttribute('data-help')}".strip())
    field.focus()


def clear(field_id: str) -> None:
    field = by_id(field_id)
    if field.getAttribute("aria-invalid") == "true":
        field.removeAttribute("aria-invalid")
        field.setAttribute("aria-describedby", field.getAttribute("data-help"))
        _note(field_id).hidden = True


def clear_when_changed(*field_ids: str) -> None:
    for field_id in field_ids:
        on(by_id(field_id), "input", lambda *_, f=field_id: clear(f))
