"""A collaborator's households: the index, their statuses and due dates, new households."""
