"""UI schemas: what the web app renders, compiled from the metadata for one viewer.

The pipeline, in the order the modules build on each other::

    locales.py   which language a request wants (Accept-Language, ?locale), and labels in it
    words.py     the web app's own words in en and zh-CN (buttons, headings, messages)
    fields.py    each field as the viewer sees it: label, widget, values, GraphQL selection,
                 and the record's JSON Schema (read-only fields marked, hidden ones absent)
    forms.py     a layout as a JSON Forms style UI schema: tabs, sections, controls,
                 a path bar, related lists and action buttons
    lists.py     list views (columns, sort, group, the server-side filter by name),
                 kanbans by any picklist (the moves its state machine allows the viewer)
                 and the apps of the switcher (navigation from pack metadata)
    compiler.py  the entry points: ``UiCompiler.shell`` and ``UiCompiler.object``, each
                 with a version (a hash of the metadata, the viewer's grants and the locale)

Everything is trimmed to the viewer: it starts from the reader's API shape
(``runtime.model.shape.ApiShape``), where hidden objects and fields do not exist, so
nothing here can name a field the viewer cannot read.
"""
