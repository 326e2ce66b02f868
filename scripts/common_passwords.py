"""Build ``mosu/accounts/common-passwords.txt``, the list of passwords mosu refuses.

No password list ships in a package mosu already depends on, so the list is written here:
the most common passwords of the public breach-frequency lists (SecLists'
``10-million-password-list-top-1000``, NordPass's yearly top 200, and the CSDN/Tianya/
Renren leak analyses for Chinese users, e.g. 123456789, woaini1314, 5201314, qwertyuiop,
1qaz2wsx3edc), with the variations those lists are full of: digit, year and symbol
suffixes, repeated and sequential characters, keyboard walks and doubled words.
Run it to regenerate the file: ``python scripts/common_passwords.py``.
"""

from __future__ import annotations

from pathlib import Path


def words(text: str) -> list[str]:
    return text.split()


OUT = Path(__file__).resolve().parents[1] / "mosu" / "accounts" / "common-passwords.txt"

WORDS = words("""
password passw0rd p@ssword p@ssw0rd pass pass123 password1 password12 password123 admin
administrator root toor guest test tester user login welcome welcome1 letmein qwerty
qwertyuiop qwertyuiop123 asdfghjkl asdfghjkl123 zxcvbnm zxcvbnm123 qazwsx qazwsxedc
1qaz2wsx 1qaz2wsx3edc 1qaz2wsx3edc4rfv zaq12wsx zaq1zaq1 zaq1xsw2 1q2w3e4r 1q2w3e4r5t
1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 q1w2e3r4t5y6 qweasd qweasdzxc qweasdzxc123 asdqwe123
abc123 abcd1234 abcde12345 a123456 a1234567 a12345678 a123456789 aa123456 aa12345678
123abc 123qwe 123qweasd 123qweasdzxc qwe123 qwe123456 qwer1234 qwert12345 asd123
asd123456 zxc123 zxc123456 iloveyou iloveyou1 iloveu monkey dragon master sunshine
princess football baseball basketball soccer hockey shadow superman batman spiderman
michael jennifer jordan hunter buster thomas charlie robert daniel jessica ashley
michelle nicole tigger tiger killer trustno1 freedom whatever starwars computer
internet secret cheese flower hello hello123 hellokitty helloworld loveme lovely
mustang harley ranger pepper ginger summer winter autumn spring orange banana apple
chocolate cookie maggie bailey access matrix pokemon naruto samsung google facebook
linkedin yahoo microsoft windows android iphone apple123 dragon123 monkey123 liverpool
chelsea arsenal barcelona realmadrid manchester juventus changeme changeit default
passport zxcvbn abcdef abcdefg abcdefgh abcdefghij qwertyui asdfgh asdfghjk zxcvbnm1
woaini woaini1314 woaini520 woaini521 woaini123 woaini1234 woaini12345 woainia
woaiwojia woaimama woaibaba woshishui woshinidie wangyang zhangwei wangwei liwei
liuyang zhangjie wanglei lixiang chenjie wodemima mima mima123 mimamima nihao
nihao123 nihaoma aini1314 aini520 iloveyou1314 ilovechina china china123 zhongguo
beijing shanghai shenzhen guangzhou hangzhou nanjing wuhan chengdu tianjin xiamen
taobao baidu tencent alibaba weixin qq123456 qq5201314 dearbook huawei xiaomi
xiaoming xiaohong zhangsan lisi wangwu admin123 admin888 admin1234 root123
administrator123 test123 test1234 guest123 user123 password2024 shanghai123 beijing123
a5201314 q5201314 s5201314 w5201314 z5201314 l5201314 xiaoyu xiaolong tianya csdn
csdn123 kaixin sunlei yangyang meimei qiangqiang dongdong huanghe changjiang
jiayou fendou shengri xingfu kuaile pengyou aiqing tiantian mingming
""")

NUMBERS = words("""
123456 1234567 12345678 123456789 1234567890 12345678910 0123456789 987654321
9876543210 0987654321 1234554321 123123 123123123 123123123123 123321 123654
123654789 147258 147258369 147852369 159357 159753 159753852 258369 321654 456789
654321 741852963 789456 789456123 7894561230 111222 112233 11223344 1122334455
121212 12121212 1212121212 131313 123456a 123456aa 123456abc 123456qwe 123456789a
123456789q 1234567890q 5201314 52013141314 520520 5211314 1314520 13145201314
5201314520 1314521 77777777 88888888 66666666 666888 168168 18881888 88888888888
20080808 19491001 19901010 19880808 11111111 1111111111 0000000000 00000000 999999999
""")

SUFFIXES = [
    "",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "!",
    "!@#",
    "@123",
    "666",
    "888",
    "520",
    "1314",
    "5201314",
    "0",
    "00",
    "01",
    "11",
    "007",
    "99",
    "2008",
]
SUFFIXES += [str(year) for year in range(1970, 2031)]


def keyboard_walks() -> set[str]:
    rows = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]
    walks = set()
    for row in rows:
        for start in range(len(row)):
            for end in range(start + 4, len(row) + 1):
                walks.add(row[start:end])
                walks.add(row[start:end][::-1])
    columns = ["1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik,", "9ol.", "0p;/"]
    for start in range(len(columns)):
        for end in range(start + 2, len(columns) + 1):
            walks.add("".join(columns[start:end]))
            walks.add("".join(c.upper() for c in columns[start:end]).lower())
    return walks


def repeats() -> set[str]:
    out = set()
    for ch in "0123456789abcdefghijklmnopqrstuvwxyz":
        for n in range(6, 17):
            out.add(ch * n)
    for pair in ("12", "123", "1234", "ab", "abc", "qwe", "asd", "520", "1314", "666", "88"):
        for n in range(2, 8):
            out.add(pair * n)
    return out


def build() -> list[str]:
    found: set[str] = set(NUMBERS) | keyboard_walks() | repeats()
    for word in WORDS:
        found.add(word)
        found.add(word + word)
        for suffix in SUFFIXES:
            found.add(word + suffix)
    return sorted({p.lower() for p in found if len(p) >= 6})


def main() -> None:
    passwords = build()
    OUT.write_text("\n".join(passwords) + "\n", encoding="utf-8")
    print(f"wrote {len(passwords)} passwords to {OUT}")


if __name__ == "__main__":
    main()
