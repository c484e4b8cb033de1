"""TURN for clients without UDP: coturn as a child process of ``weir serve``, and the credentials join hands out."""
