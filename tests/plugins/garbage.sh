#!/bin/sh
# Hostile output: ANSI colours, a title-setting OSC, NUL, invalid UTF-8, BEL, CR and 8-bit CSI.
printf 'OK \033[31mred\033[0m text\000with nul \377\376 bad \007bell\r\n'
printf 'second \033]0;evil title\007line \302\233 c1\n'
printf 'third line|load=1;2;3 x=1,5\n'
