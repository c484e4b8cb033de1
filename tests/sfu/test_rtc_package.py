import weir.sfu.rtc


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(weir.sfu.rtc) if not name.startswith("_")}
    modules = {name for name, value in vars(weir.sfu.rtc).items() if type(value) is type(weir.sfu.rtc)}
    assert set(weir.sfu.rtc.__all__) == public - modules
