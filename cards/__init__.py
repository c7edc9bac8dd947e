"""Adaptive Cards (schema 1.5, as Teams renders them) for MailOps, in English and Indonesian.

One module per family; every builder is a pure function from domain values (the models of
``dataverse.models`` and the small value types defined here) and a :class:`cards.i18n.Strings`
to a card ``dict``:

- :mod:`cards.common`: envelope, header, facts, badges, buttons, refresh, size guard, error card
- :mod:`cards.mailboxes`, :mod:`cards.profiles`, :mod:`cards.settings`: record views
- :mod:`cards.results`, :mod:`cards.previews`: bulk changes before and after
- :mod:`cards.access`: permission denied, with "Request approval"
- :mod:`cards.help`, :mod:`cards.choices`: help, "which one?", "did you mean"
- :mod:`cards.health`, :mod:`cards.lists`: the summary with a Teams chart, and lists
- :mod:`cards.verbs`: the verbs and data keys the buttons send back to ``dialogs/``
- :mod:`cards.i18n`, :mod:`cards.labels`: catalogs, translator, option labels
"""
