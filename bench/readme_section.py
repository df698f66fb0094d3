"""Writing one benchmark's marked section of bench/README.md."""
import re


def replace_section(readme, start, end, section, heading):
    """Prints `section` (which begins with `start` and ends with `end`) and
    puts it in place of the marked section of `readme`, or appends it under
    `heading` when the file has none yet."""
    print(section)
    text = readme.read_text()
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text += f"\n## {heading}\n\n" + section + "\n"
    readme.write_text(text)
