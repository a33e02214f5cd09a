#!/bin/sh
echo cli
