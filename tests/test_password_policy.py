"""The common-password check for new passwords (NIST 800-63B §5.1.1.2)."""

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.accounts.password_policy import is_common

LIST_FILE = Path(__file__).parent.parent / "incidents" / "accounts" / "common_passwords.txt"
LISTED = sorted(
    line
    for line in LIST_FILE.read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
)
PADDING = string.digits + string.punctuation
PASSWORD = "correct horse battery staple"  # the suite's password (tests/conftest.py)


def test_list_file_is_sorted_unique_lowercase_and_says_where_it_comes_from():
    lines = LIST_FILE.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    entries = [line for line in lines if not line.startswith("#")]
    assert lines[: len(header)] == header  # the comments come first
    assert entries == sorted(set(entries))
    assert all(entry and entry == entry.lower() == entry.strip() for entry in entries)
    assert any("zxcvbn" in line for line in header)
    assert any("MIT" in line for line in header)
    assert len(entries) > 30_000
    assert LIST_FILE.stat().st_size < 400_000


def test_the_suite_password_is_not_listed_nor_refused():
    assert PASSWORD.replace(" ", "") not in LISTED
    assert PASSWORD not in LISTED
    assert not is_common(PASSWORD)


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "iloveyou",
        "Qwertyuiop",
        "PASSWORD",
        "matkhau",
        "mật khẩu",
        "MẬT KHẨU",
        "Mật Khẩu",
        "anhyeuem",
        "Anh Yêu Em",
        "emyeuanh",
        "em yêu anh",
        "tôi yêu em",
        "Việt Nam",
        "Hà Nội",
        "Đà Nẵng",
        "ĐÀ NẴNG",
        "Sài Gòn",
        "Tổ dân phố",
        "  Nguyễn  ",
        "Ngọc Anh",
        "ｍａｔｋｈａｕ",  # fullwidth letters, folded by NFKC
        "mậ\u0302t kha\u0302\u0309u",  # decomposed marks
    ],
)
def test_listed_passwords_are_refused(password):
    assert is_common(password)


@pytest.mark.parametrize(
    "password",
    [
        "password2024!!!!",
        "matkhau123456789",
        "!!!anhyeuem2024",
        "Mật khẩu 2024!!!",
        "2024...Việt Nam...2024",
        "iloveyou<3<3<3<3",
        "ngoc anh 123456",
        "!!123456789!!",
        "0912345678!!",
    ],
)
def test_listed_password_padded_with_digits_or_punctuation_is_refused(password):
    assert is_common(password)


def test_username_padded_with_digits_or_punctuation_is_refused():
    assert is_common("nvlan1990!!!!!!!!", username="nvlan")
    assert is_common("Bichngoc-2024-2024", username="bichngoc.vo")  # a part of the username
    assert not is_common("Bichngoc-2024-2024")
    assert not is_common("nvlan1990!!!!!!!!", username="someone")


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "ÂÂÂÂÂÂÂÂÂÂÂÂ",
        "abcabcabcabc",
        "abcabcabcab",
        "121212121212",
        "1qaz1qaz1qaz",
        "matkhaumatkhau",
        "Password Password",
        "aaaaaaaaaaaa2024",
    ],
)
def test_repetitions_are_refused(password):
    assert is_common(password)


@pytest.mark.parametrize(
    "password",
    [
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "abcdefghijkl",
        "ZYXWVUTSRQPO",
        "poiuytrewq09",
        "1qaz2wsx3edc",
        "qazwsxedcrfvtgb",
        "789456123789",
        "!@#$%^&*()_+",
        "1234abcd5678",
        "aaaabbbbcccc",
        "abcdefghijkl2024",
    ],
)
def test_keyboard_and_alphabet_runs_are_refused(password):
    assert is_common(password)


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("lan.nguyen2024", "lan.nguyen"),
        ("hoangthu#Ward7", "hoangthu"),
        ("Hoàng Thu phường 7", "hoangthu"),
        ("2024hoangthu2024", "HoangThu"),
        ("my name: thanhtam", "thanhtam"),
    ],
)
def test_password_mostly_the_username_is_refused(password, username):
    assert is_common(password, username=username)


def test_username_inside_a_long_passphrase_is_accepted():
    assert not is_common("hoangthu trồng lúa ở Cần Thơ", username="hoangthu")
    # Shorter than 4 characters: only refused when it is all there is besides padding.
    assert not is_common("an is my cat's name", username="an")


STRONG = [
    PASSWORD,
    "Tôi thích ăn phở bò mỗi sáng",
    "Mùa thu Hà Nội lá vàng rơi",
    "con mèo đen ngủ trên mái nhà",
    "xe đạp cũ của bà ngoại",
    "Trà đá vỉa hè lúc 5 giờ chiều",
    "mưa phùn tháng hai ở Huế",
    "Sông Hương chảy qua cầu Trường Tiền",
    "đèn lồng Hội An đỏ rực",
    "purple elephant dances quietly",
    "nine wolves ate my umbrella",
    "gT7#kq9!Lz2@vW",
    "k3x9-plmq-7rtw-2zna",
]


@pytest.mark.parametrize("password", STRONG)
def test_strong_passphrases_are_accepted(password):
    assert not is_common(password)
    assert not is_common(password, username="nguyen.thi.lan")


def test_empty_or_blank_password_is_refused():
    assert is_common("")
    assert is_common("   \t")


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzăâđêôơưáàảãạ", min_size=8, max_size=20)


@settings(max_examples=200, deadline=None)
@given(first=WORD, second=WORD, digits=st.text(alphabet=string.digits, min_size=4, max_size=8))
def test_two_words_joined_by_digits_give_a_bool(first, second, digits):
    password = first + digits + second
    assert len(password) >= 20
    assert isinstance(is_common(password), bool)
    assert isinstance(is_common(password, username=first), bool)


@settings(max_examples=200, deadline=None)
@given(password=st.text(), username=st.none() | st.text())
def test_any_text_gives_a_bool(password, username):
    assert isinstance(is_common(password, username=username), bool)
    assert isinstance(is_common(password + "\x00" + password), bool)


@settings(max_examples=200, deadline=None)
@given(
    listed=st.sampled_from(LISTED),
    before=st.text(alphabet=PADDING, max_size=10),
    after=st.text(alphabet=PADDING, max_size=10),
    capitalise=st.booleans(),
)
def test_padding_a_listed_password_keeps_it_refused(listed, before, after, capitalise):
    word = listed.upper() if capitalise else listed
    assert is_common(word + after)
    assert is_common(before + word)
    if any(ch.isalpha() for ch in listed):
        assert is_common(before + word + after)
