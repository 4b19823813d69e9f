"""Read models: the queue, the board and the complaint view the faces show."""
