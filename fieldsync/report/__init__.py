"""The visit report (rapport de visite) of a validated SPANC control, as a PDF for the owner."""
