import weir.sfu


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(weir.sfu) if not name.startswith("_")}
    modules = {name for name, value in vars(weir.sfu).items() if type(value) is type(weir.sfu)}
    assert set(weir.sfu.__all__) == public - modules
