"""The one exception type for bad user input."""


class PandaInputError(ValueError):
    """Raised when an input (image, mask, option, file) is not acceptable.

    The message names the bad value and what would be accepted; the ``panda`` command line
    prints it as one line and exits with status 2.
    """
