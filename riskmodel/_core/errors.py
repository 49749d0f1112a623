"""Errors a user can act on.

Every problem with a user's input (data, spec, model, option) is raised as
:class:`InputError` with a one-line message that names what is wrong and
where. The command line prints that line and exits with status 2, without a
traceback.
"""


class InputError(ValueError):
    """A problem with the user's input, explained in one line.

    Parameters
    ----------
    message : str
        One line naming the table/file, the column/key and example rows.

    Examples
    --------
    >>> from riskmodel import InputError
    >>> str(InputError("children.sex: unknown value 'f' (rows c1, c2)"))
    "children.sex: unknown value 'f' (rows c1, c2)"
    """

    def __init__(self, message: str):
        # Keep the message on one line whatever the caller built.
        super().__init__(" ".join(str(message).split()))


class InputWarning(UserWarning):
    """Something in the user's input that riskmodel read, but the user should know of.

    The command line prints each as one line starting ``warning:`` on stderr.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
