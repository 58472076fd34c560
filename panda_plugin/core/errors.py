"""The exception type for bad user input and the warning type for suspicious input."""


class PandaInputError(ValueError):
    """Raised when an input (image, mask, option, file) is not acceptable.

    The message names the bad value and what would be accepted; the ``panda`` command line
    prints it as one line and exits with status 2.
    """


class PandaWarning(UserWarning):
    """A result that is valid but probably not what was meant (e.g. restored image and
    reference given the wrong way round); the ``panda`` command line prints it as one line."""
