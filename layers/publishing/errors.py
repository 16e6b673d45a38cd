"""The one exception publishing raises for anything the user can fix."""


class PublishError(Exception):
    """Bad input or a refused operation; str(error) is a French sentence fit for the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)

    def __str__(self):
        return self.message
