"""Reading untrusted images safely, finding the object on a backdrop, the ``check`` stage."""
